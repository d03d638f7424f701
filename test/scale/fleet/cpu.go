package fleet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on every Linux we run on).
const clockTicks = 100

// CPUTimes is the CPU time (user + system) each process of a run has used, by role: "kube-apiserver",
// "etcd", "manager" and "bench" (this program). Comparing two readings shows where a phase's CPU went:
// on a 2-core machine the four share the cores, so the API server's and etcd's share is what the
// operator's writes cost and this program's share is the measurement's own overhead.
type CPUTimes map[string]time.Duration

// Sub is c - before, per role.
func (c CPUTimes) Sub(before CPUTimes) CPUTimes {
	out := CPUTimes{}
	for k, v := range c {
		out[k] = v - before[k]
	}
	return out
}

// ReadCPU reads the CPU time of this process, the manager (pid) and the control plane's processes
// (children of this process whose command is kube-apiserver or etcd).
func ReadCPU(managerPID int) (CPUTimes, error) {
	out := CPUTimes{}
	self := os.Getpid()
	var err error
	if out["bench"], err = procCPU(self); err != nil {
		return nil, err
	}
	if managerPID > 0 {
		if out["manager"], err = procCPU(managerPID); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing /proc: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue // gone since the listing
		}
		name := filepath.Base(string(bytes.SplitN(cmd, []byte{0}, 2)[0]))
		if name != "kube-apiserver" && name != "etcd" {
			continue
		}
		if ppid, err := procPPID(pid); err != nil || ppid != self {
			continue // another run's control plane
		}
		t, err := procCPU(pid)
		if err != nil {
			return nil, err
		}
		out[name] += t
	}
	return out, nil
}

// procStatFields returns the fields of /proc/PID/stat after the command (field 3 onwards).
func procStatFields(pid int) ([]string, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
	}
	// The command (field 2) is in parentheses and may hold spaces: split after its closing one.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strings.Fields(string(raw[i+1:])), nil
}

func procPPID(pid int) (int, error) {
	f, err := procStatFields(pid)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[1]) // field 4
}

func procCPU(pid int) (time.Duration, error) {
	f, err := procStatFields(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parsing /proc/%d/stat times", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// ProfileAPIServer writes a CPU profile of the kube-apiserver, taken over d, to path (the admin user
// may read /debug/pprof; the API server serves it by default).
func (cp *ControlPlane) ProfileAPIServer(ctx context.Context, d time.Duration, path string) error {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return fmt.Errorf("creating a clientset: %w", err)
	}
	raw, err := cs.RESTClient().Get().AbsPath("/debug/pprof/profile").
		Param("seconds", strconv.Itoa(int(d.Seconds()))).Timeout(d + time.Minute).DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("profiling the kube-apiserver: %w", err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return fmt.Errorf("writing the profile: %w", err)
	}
	return nil
}

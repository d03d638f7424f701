package fleet

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Manager is one run of the manager binary as a child process.
type Manager struct {
	cmd     *exec.Cmd
	log     *os.File
	done    chan struct{} // closed when the process has ended; exitErr is set by then
	exitErr error
	Started time.Time
}

// StartManager runs bin with the kubeconfig and args, appending its output to logPath.
func StartManager(bin, kubeconfig, logPath string, args ...string) (*Manager, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the manager's log: %w", err)
	}
	cmd := exec.Command(bin, append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	m := &Manager{cmd: cmd, log: log, done: make(chan struct{}), Started: time.Now()}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	go func() {
		m.exitErr = cmd.Wait()
		_ = log.Close()
		close(m.done)
	}()
	return m, nil
}

// PID is the child's process id.
func (m *Manager) PID() int { return m.cmd.Process.Pid }

// Kill sends SIGKILL (no shutdown hook runs: calls in flight are cut) and waits for the process to go.
// It returns the time the signal was sent.
func (m *Manager) Kill() (time.Time, error) {
	at := time.Now()
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return at, fmt.Errorf("killing the manager: %w", err)
	}
	select {
	case <-m.done: // the exit status of a killed process says only "killed"
	case <-time.After(30 * time.Second):
		return at, fmt.Errorf("the manager (pid %d) did not die within 30s of SIGKILL", m.PID())
	}
	return at, nil
}

// Stop asks the manager to shut down (SIGTERM), waiting up to a minute, then kills it.
func (m *Manager) Stop() error {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done: // SIGTERM's exit status is not an error of the run being measured
		return nil
	case <-time.After(time.Minute):
		_, err := m.Kill()
		return err
	}
}

// Exited reports whether the process has ended on its own (and with what).
func (m *Manager) Exited() (bool, error) {
	select {
	case <-m.done:
		return true, m.exitErr
	default:
		return false, nil
	}
}

// PeakRSS is the process's peak resident set size (VmHWM in /proc/PID/status), in bytes.
func (m *Manager) PeakRSS() (int64, error) {
	return procStatusKB(m.PID(), "VmHWM")
}

func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the process status: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, field+":") {
			continue
		}
		fs := strings.Fields(strings.TrimPrefix(line, field+":"))
		if len(fs) != 2 || fs[1] != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", field, line)
		}
		kb, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %s: %w", field, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading the process status: %w", err)
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"

	"github.com/tiktok-operator/tiktok-operator/internal/identity"
)

// managerName is the one name this manager holds every Lease under (the leader-election Lease and the
// account Leases): --identity when given; with --identity-file, a dead predecessor's name (a restart of
// the container after a crash: its Leases are taken over at once, not after they lapse) or a fresh one
// written there; else a fresh one. The returned claim must stay referenced for the process's life (its
// lock proves the name is in use).
func managerName(log logr.Logger, name, file string) (string, *identity.Claimed, error) {
	switch {
	case name != "" && file != "":
		return "", nil, errors.New("--identity and --identity-file: give one or the other")
	case name != "":
		return name, nil, nil
	case file == "":
		return identity.New(), nil, nil
	}
	c, err := identity.Claim(file, nil)
	if errors.Is(err, identity.ErrBusy) {
		// Another live manager uses the file: both stay safe with a fresh name, the restart is just slower.
		n := identity.New()
		log.Info("the identity file is in use by another live process: running under a fresh name", "file", file, "identity", n)
		return n, nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("--identity-file: %w", err)
	}
	if c.Adopted {
		log.Info("the previous manager of this identity file is gone: taking its name and its Leases over",
			"file", file, "identity", c.Name)
	} else {
		log.Info("new identity written to the identity file", "file", file, "identity", c.Name)
	}
	return c.Name, c, nil
}

// inClusterNamespace is where a pod's service account token tells its namespace.
const inClusterNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// leaderLock is the leader-election Lease lock held under name, so that the leader-election Lease and the
// account Leases name the same manager, and a restart that took its predecessor's name over is the leader
// at once. What controller-runtime builds itself otherwise (it names every process afresh), with its
// defaults: the Lease in the pod's namespace unless given, a client timeout of half the renew deadline.
func leaderLock(cfg *rest.Config, namespace, id, name string) (resourcelock.Interface, error) {
	if namespace == "" {
		b, err := os.ReadFile(inClusterNamespace)
		if err != nil {
			return nil, errors.New("--leader-election-namespace is needed outside a cluster (no service account namespace file)")
		}
		namespace = strings.TrimSpace(string(b))
	}
	cfg = rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election")
	cfg.Timeout = leaderRenewDeadline / 2
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("leader election client: %w", err)
	}
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	rec := b.NewRecorder(scheme, corev1.EventSource{Component: name})
	return resourcelock.New(resourcelock.LeasesResourceLock, namespace, id, cs.CoreV1(), cs.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: name, EventRecorder: rec})
}

// leaderRenewDeadline is controller-runtime's default renew deadline, passed to the manager with the lock.
const leaderRenewDeadline = 10 * time.Second

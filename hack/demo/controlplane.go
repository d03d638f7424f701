package main

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tiktok-operator/tiktok-operator/internal/testenv"
)

// controlPlane is a real etcd and kube-apiserver on free loopback ports (envtest), with the CRDs
// installed and a kubeconfig file for kubectl.
type controlPlane struct {
	env        *envtest.Environment
	Config     *rest.Config
	Kubeconfig string
}

// startControlPlane starts etcd and kube-apiserver from cfg.Assets, installs the CRDs, and writes a
// kubeconfig for a system:masters user into dir.
func startControlPlane(cfg config, dir string) (*controlPlane, error) {
	env := &envtest.Environment{
		BinaryAssetsDirectory: cfg.Assets,
		CRDDirectoryPaths:     []string{cfg.CRDDir},
		ErrorIfCRDPathMissing: true,
	}
	restCfg, err := testenv.Start(env)
	if err != nil {
		return nil, err
	}
	cp := &controlPlane{env: env, Config: restCfg}
	user, err := env.AddUser(envtest.User{Name: "demo", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		_ = cp.stop()
		return nil, fmt.Errorf("adding the demo user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		_ = cp.stop()
		return nil, fmt.Errorf("building the kubeconfig: %w", err)
	}
	cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, kc, 0o600); err != nil {
		_ = cp.stop()
		return nil, fmt.Errorf("writing the kubeconfig: %w", err)
	}
	return cp, nil
}

// stop ends kube-apiserver and etcd and removes envtest's own temporary folders.
func (cp *controlPlane) stop() error {
	if cp == nil {
		return nil
	}
	if err := cp.env.Stop(); err != nil {
		return fmt.Errorf("stopping the control plane: %w", err)
	}
	return nil
}

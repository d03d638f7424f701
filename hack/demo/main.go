// Command tiktok-demo is `make demo`: it starts a real etcd and kube-apiserver on loopback, the TikTok
// simulator, and the operator in this process, applies about 40 sample posts on 3 accounts, shows the
// pacing live, and ends with a summary once every post has ended. The windows are compressed (6 inits
// per 10 s) unless TIKTOK_DEMO_REAL_WINDOWS=1. Ctrl-C stops everything and removes what it created.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg := configFromEnv()
	flag.StringVar(&cfg.Assets, "assets", "bin/k8s/1.37.2-etcd-3.6.16", "folder with kube-apiserver and etcd (make control-plane)")
	flag.StringVar(&cfg.CRDDir, "crds", "config/crd/bases", "folder with the CRDs to install")
	flag.StringVar(&cfg.SimBinary, "sim", "bin/tiktok-sim", "the tiktok-sim binary")
	flag.IntVar(&cfg.Posts, "posts", cfg.Posts, fmt.Sprintf("number of sample posts (at least %d)", minPosts))
	flag.BoolVar(&cfg.ExternalManager, "external-manager", false,
		"do not run the operator: wait for one started elsewhere (make run with the printed kubeconfig)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	sum, err := run(ctx, cfg, os.Stdout)
	stop()
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "tiktok-demo: interrupted; everything it started is stopped and removed")
		os.Exit(130)
	case err != nil:
		fmt.Fprintf(os.Stderr, "tiktok-demo: %v\n", err)
		os.Exit(1)
	case len(sum.problems()) > 0:
		fmt.Fprintln(os.Stderr, "tiktok-demo: the operator did not do what the demo expects (see PROBLEMS above)")
		os.Exit(1)
	}
}

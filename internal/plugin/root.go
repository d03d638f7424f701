/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package plugin holds the commands of kubectl-tiktok, the tiktok-operator's kubectl plugin. Each command
// is a file (connect.go, status.go, retry.go, post.go); root.go wires them to the kubectl conventions
// (--kubeconfig, --context, -n/--namespace through cli-runtime's ConfigFlags).
package plugin

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// Options is what every command shares: the kubectl flags and the terminal.
type Options struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	// Clock is "now" for the relative times the commands print (in 3m, 12s ago) and for the retry
	// annotation's value; tests set a fake clock so that the output is exact.
	Clock clock.PassiveClock
}

// NewRootCommand builds `kubectl tiktok` with its subcommands.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return newRootCommand(newOptions(streams, clock.RealClock{}))
}

// newOptions are the shared options with kubectl's flags; tests pass a fake clock.
func newOptions(streams genericiooptions.IOStreams, clk clock.PassiveClock) *Options {
	flags := genericclioptions.NewConfigFlags(true)
	// kubectl's --client-key (a TLS key file) would shadow connect's --client-key (the TikTok app's client
	// key, as TikTok names it); the kubeconfig still carries a TLS key for whoever uses one.
	flags.KeyFile = nil
	return &Options{ConfigFlags: flags, IOStreams: streams, Clock: clk}
}

// newRootCommand builds the command tree on o.
func newRootCommand(o *Options) *cobra.Command {
	streams := o.IOStreams
	root := &cobra.Command{
		Use:   "kubectl-tiktok",
		Short: "Connect TikTok creators and watch their posts go out with tiktok-operator",
		Long: `kubectl tiktok is tiktok-operator's kubectl plugin. It reads and writes the operator's objects
(AccountQuota, TikTokPost, group publish.tiktok-operator.dev) with your kubeconfig's credentials:

  connect  authorize a creator (TikTok Login Kit) and create its Secret and AccountQuota
  status   each account's readiness, quota use, queue with expected send times, and recent failures
  retry    release a Failed post (the publish.tiktok-operator.dev/retry annotation)
  post     write a TikTokPost: create it, print it for a GitOps repository, or dry-run it on the server

It takes kubectl's flags (--kubeconfig, --context, -n/--namespace, ...).`,
		SilenceUsage:  true,
		SilenceErrors: false,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl tiktok"},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	o.ConfigFlags.AddFlags(root.PersistentFlags())
	root.AddCommand(newConnectCommand(o), newStatusCommand(o), newRetryCommand(o), newPostCommand(o))
	return root
}

// Namespace is the namespace the user chose with -n, or their kubeconfig context's.
func (o *Options) Namespace() (string, error) {
	ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

// Client is a controller-runtime client for the user's cluster that knows core types and the operator's.
func (o *Options) Client() (client.Client, error) {
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := publishv1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return c, nil
}

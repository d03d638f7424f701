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

package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// metricsCertFlags are kubebuilder's flags for the metrics endpoint's serving certificate. Without
// --metrics-cert-path the endpoint serves a self-signed certificate it makes at start (scrapers must then
// skip verification); with it, the certificate in that folder (e.g. a cert-manager Secret mounted there),
// reloaded when it changes on disk, so a renewal needs no restart.
type metricsCertFlags struct {
	path, certName, keyName string
}

func (f *metricsCertFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "metrics-cert-path", "",
		"The folder holding the metrics endpoint's serving certificate and key; empty: a self-signed certificate.")
	fs.StringVar(&f.certName, "metrics-cert-name", "tls.crt", "The metrics serving certificate's file name in --metrics-cert-path.")
	fs.StringVar(&f.keyName, "metrics-cert-key", "tls.key", "The metrics serving key's file name in --metrics-cert-path.")
}

// apply makes opts serve the certificate of --metrics-cert-path through a certwatcher, which it returns
// for the manager to run (nil when no path is given). A certificate that cannot be read fails here, at
// start, not at the first scrape.
func (f *metricsCertFlags) apply(opts *metricsserver.Options) (*certwatcher.CertWatcher, error) {
	if f.path == "" {
		return nil, nil
	}
	certFile, keyFile := filepath.Join(f.path, f.certName), filepath.Join(f.path, f.keyName)
	watcher, err := certwatcher.New(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the metrics certificate %s and key %s (--metrics-cert-path, --metrics-cert-name, --metrics-cert-key): %w",
			certFile, keyFile, err)
	}
	opts.TLSOpts = append(opts.TLSOpts, func(c *tls.Config) { c.GetCertificate = watcher.GetCertificate })
	return watcher, nil
}

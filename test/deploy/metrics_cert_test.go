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

package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
)

// testCA is a certificate authority made for one test, standing in for cert-manager's issuer.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "metrics test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a serving certificate for 127.0.0.1 signed by the CA, and its key, to certFile and keyFile
// (written to a temporary name and renamed, as the kubelet swaps a Secret's files), and returns its serial.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) *big.Int {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "tiktok-operator-metrics"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		tmp := file + ".new"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	return big.NewInt(serial)
}

// TestManagerServesMetricsWithGivenCertificate runs the production manager binary with the chart's args for
// a cert-manager certificate (metrics.certManager.enabled), pointed at a folder holding a certificate a
// test CA signed under other file names (--metrics-cert-name, --metrics-cert-key). A client that trusts only
// that CA must complete the TLS handshake and, with an authorized ServiceAccount token, read the
// operator's metrics; the certificate presented must be the one on disk, and after the files are replaced
// (a renewal) new connections must get the new one without a restart. A folder without the files must stop
// the manager at start with an error naming the flags.
func TestManagerServesMetricsWithGivenCertificate(t *testing.T) {
	const releaseNS = "tiktok-metrics-cert"
	manager := buildManager(t)
	objs := renderChart(t, "tiktok", releaseNS, "--set", "metrics.certManager.enabled=true",
		"--set", "metrics.certManager.issuerRef.name=test-ca")
	prereqs, rest := splitPrerequisites(objs)
	applyForReal(t, prereqs) // the CRDs: the manager's caches need them
	createNamespace(t, releaseNS)

	// The chart's args, bound to loopback, with the mounted folder replaced by the test's.
	args, probeAddr := localArgs(t, managerArgs(t, onlyOne(t, rest, "Deployment")))
	certDir := t.TempDir()
	certFile, keyFile := filepath.Join(certDir, "serving.pem"), filepath.Join(certDir, "serving-key.pem")
	metricsAddr := freeLoopbackAddr(t)
	replaced := false
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "--metrics-cert-path="):
			args[i], replaced = "--metrics-cert-path="+certDir, true
		case a == "--metrics-bind-address=127.0.0.1:0":
			args[i] = "--metrics-bind-address=" + metricsAddr
		}
	}
	if !replaced {
		t.Fatalf("the chart's args with metrics.certManager.enabled lack --metrics-cert-path: %q", args)
	}
	args = append(args, "--metrics-cert-name=serving.pem", "--metrics-cert-key=serving-key.pem",
		"--kubeconfig="+kubeconfig, "--leader-election-namespace="+releaseNS)

	t.Run("a folder without the certificate stops the manager", func(t *testing.T) {
		bad := slices.Clone(args)
		for i, a := range bad {
			if strings.HasPrefix(a, "--metrics-cert-path=") {
				bad[i] = "--metrics-cert-path=" + t.TempDir()
			}
		}
		logs := startProcess(t, manager, bad...)
		select {
		case err := <-logs.done:
			logs.done <- err
			if err == nil {
				t.Errorf("the manager exited 0 without its metrics certificate")
			}
			if !strings.Contains(logs.String(), "--metrics-cert-path") {
				t.Errorf("the manager's error does not name --metrics-cert-path:\n%s", logs.String())
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("the manager kept running without its metrics certificate:\n%s", logs.String())
		}
	})

	ca := newTestCA(t)
	first := ca.issue(t, 100, certFile, keyFile)
	token := scraperToken(t, releaseNS)
	logs := startProcess(t, manager, args...)
	waitReady(t, "the manager's /readyz", probeAddr, logs)

	// Trusts the test CA only; a new connection (and handshake) for every request.
	verifying := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}}}
	scrape := func() (*http.Response, string, error) {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://"+metricsAddr+"/metrics", nil)
		if err != nil {
			return nil, "", err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := verifying.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		return resp, string(body), err
	}
	var body string
	waitFor(t, "metrics over TLS verified against the test CA", func() (bool, error) {
		resp, b, err := scrape()
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			return false, err // the manager serves another certificate: no point waiting
		}
		if err != nil {
			return false, nil // not listening yet
		}
		if resp.StatusCode != http.StatusOK {
			return false, nil // the authorization filter may still be warming up
		}
		if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(first) != 0 {
			return false, errors.New("the manager presents serial " + got.String() + ", not the certificate on disk")
		}
		body = b
		return true, nil
	}, logs)
	// The operator's own metrics, and controller-runtime's count of certificate reads: the watcher runs.
	for _, want := range []string{"tiktok_operator_rate_limited_total", "certwatcher_read_certificate_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("the metrics lack %s", want)
		}
	}

	// A renewal: new files in place; the certwatcher reloads them and new connections get the new one.
	second := ca.issue(t, 200, certFile, keyFile)
	renewed := time.Now()
	waitFor(t, "the renewed certificate served", func() (bool, error) {
		resp, _, err := scrape()
		if err != nil {
			return false, nil
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Cmp(second) == 0, nil
	}, logs)
	t.Logf("the renewed certificate was served %v after the files changed", time.Since(renewed).Round(10*time.Millisecond))

	// Without a token the endpoint still refuses: the certificate changed the TLS, not the authorization.
	resp, err := verifying.Get("https://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Errorf("a scrape without a token got %d, want 401 or 403", resp.StatusCode)
	}
	stopProcess(t, logs)
}

// scraperToken makes a ServiceAccount allowed to GET /metrics (as the chart's metrics-reader ClusterRole
// allows) and returns a token for it, which the manager checks with a TokenReview and a
// SubjectAccessReview.
func scraperToken(t *testing.T, ns string) string {
	t.Helper()
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "scraper", Namespace: ns}}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns + "-metrics-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ns + "-scraper"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: ns}}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})
	})
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", ns, sa.Name, err)
	}
	return tr.Status.Token
}

// TestChartMetricsCertManager renders metrics.certManager: a cert-manager Certificate for the metrics
// Service's DNS name into the Secret the Deployment mounts at --metrics-cert-path, and a ServiceMonitor
// that verifies the endpoint against that Secret's CA for that name instead of skipping verification. The
// Deployment and ServiceMonitor pass a strict server-side dry-run; the Certificate is checked by structure
// (cert-manager's CRD is not installed here). Without an issuer the chart refuses to render.
func TestChartMetricsCertManager(t *testing.T) {
	const ns = "tiktok-cm"
	if out, err := runTool(t, nil, helmBin(t), "template", "tiktok", chartDir, "--set", "metrics.certManager.enabled=true"); err == nil {
		t.Errorf("the chart rendered metrics.certManager without an issuer (%d bytes)", len(out))
	} else if !strings.Contains(err.Error(), "metrics.certManager.issuerRef.name") {
		t.Errorf("the chart refused metrics.certManager without an issuer, but not naming metrics.certManager.issuerRef.name:\n%v", err)
	}
	if n := len(byKind(renderChart(t, "tiktok", ns), "Certificate")); n != 0 {
		t.Errorf("the defaults render %d Certificates, want none", n)
	}

	objs := renderChart(t, "tiktok", ns, "--set", "metrics.certManager.enabled=true",
		"--set", "metrics.certManager.issuerRef.name=platform-ca", "--set", "metrics.certManager.issuerRef.kind=ClusterIssuer",
		"--set", "metrics.certManager.duration=2160h", "--set", "metrics.serviceMonitor.enabled=true",
		"--set", "volumes[0].name=extra", "--set", "volumes[0].emptyDir.medium=Memory",
		"--set", "volumeMounts[0].name=extra", "--set", "volumeMounts[0].mountPath=/extra")
	cert := onlyOne(t, objs, "Certificate")
	wantString(t, cert, "cert-manager.io/v1", "apiVersion")
	wantString(t, cert, "platform-ca", "spec", "issuerRef", "name")
	wantString(t, cert, "ClusterIssuer", "spec", "issuerRef", "kind")
	wantString(t, cert, "cert-manager.io", "spec", "issuerRef", "group")
	wantString(t, cert, "2160h", "spec", "duration")
	secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	svc := onlyOne(t, objs, "Service")
	serviceDNS := svc.GetName() + "." + ns + ".svc"
	if !slices.Contains(dnsNames, serviceDNS) {
		t.Errorf("the Certificate's dnsNames %v lack the metrics Service's %s", dnsNames, serviceDNS)
	}

	dep := onlyOne(t, objs, "Deployment")
	args := managerArgs(t, dep)
	var certPath string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--metrics-cert-path="); ok {
			certPath = v
		}
	}
	if certPath == "" {
		t.Fatalf("the manager's args lack --metrics-cert-path: %q", args)
	}
	var volume string
	volumes, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "volumes")
	for _, v := range volumes {
		if lookup(v, "secret", "secretName") == secretName {
			volume, _ = lookup(v, "name").(string)
		}
	}
	if volume == "" || len(volumes) != 3 {
		t.Fatalf("the pod's volumes %v: want the user's, one of Secret %s and the identity file's", volumes, secretName)
	}
	mounts, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	var mountedAt string
	containerMounts, _ := lookup(mounts, "0", "volumeMounts").([]any)
	for _, m := range containerMounts {
		if lookup(m, "name") == volume {
			mountedAt, _ = lookup(m, "mountPath").(string)
		}
	}
	if mountedAt != certPath || len(containerMounts) != 3 {
		t.Errorf("mounts %v: want the user's, volume %s at %s (--metrics-cert-path) and the identity file's",
			containerMounts, volume, certPath)
	}

	monitor := onlyOne(t, objs, "ServiceMonitor")
	tlsConfig := lookup(monitor.Object, "spec", "endpoints", "0", "tlsConfig")
	if lookup(tlsConfig, "insecureSkipVerify") != nil {
		t.Errorf("the ServiceMonitor skips verification although cert-manager issues the certificate: %v", tlsConfig)
	}
	if lookup(tlsConfig, "ca", "secret", "name") != secretName || lookup(tlsConfig, "ca", "secret", "key") != "ca.crt" {
		t.Errorf("tlsConfig.ca = %v, want Secret %s key ca.crt", lookup(tlsConfig, "ca"), secretName)
	}
	if lookup(tlsConfig, "serverName") != serviceDNS {
		t.Errorf("tlsConfig.serverName = %v, want %s (a name of the certificate)", lookup(tlsConfig, "serverName"), serviceDNS)
	}

	applyForReal(t, serviceMonitorCRD(t))
	createNamespace(t, ns)
	dryRunAll(t, []*unstructured.Unstructured{dep, monitor})
}

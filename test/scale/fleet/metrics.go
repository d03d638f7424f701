package fleet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// Requests is apiserver_request_total summed by "VERB resource[/subresource]". The key
// "TERMINATED watch RESOURCE" holds apiserver_terminated_watchers_total (watches the server closed
// because the watcher could not keep up): not a request, so Total leaves it out.
type Requests map[string]float64

// terminatedPrefix marks the terminated-watchers counts among the request counts.
const terminatedPrefix = "TERMINATED "

// Total is the sum over every verb and resource.
func (r Requests) Total() float64 {
	var n float64
	for k, v := range r {
		if !strings.HasPrefix(k, terminatedPrefix) {
			n += v
		}
	}
	return n
}

// Sub is r - before, per key.
func (r Requests) Sub(before Requests) Requests {
	out := Requests{}
	for k, v := range r {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// APIServerRequests reads the kube-apiserver's own /metrics (the admin user may) and sums
// apiserver_request_total by verb and resource. Only the project's group and core Secrets, Events
// and Leases are kept: that is what the operator touches.
func (cp *ControlPlane) APIServerRequests(ctx context.Context) (Requests, error) {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return nil, fmt.Errorf("creating a clientset: %w", err)
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the apiserver's /metrics: %w", err)
	}
	out := Requests{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		terminated := strings.HasPrefix(line, "apiserver_terminated_watchers_total{")
		if !terminated && !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		labels, value, err := splitSample(line)
		if err != nil {
			return nil, err
		}
		if terminated {
			out[terminatedPrefix+"watch "+labels["resource"]] += value
			continue
		}
		switch labels["resource"] {
		case "tiktokposts", "accountquotas", "secrets", "events", "leases":
		default:
			continue
		}
		key := labels["verb"] + " " + labels["resource"]
		if s := labels["subresource"]; s != "" {
			key += "/" + s
		}
		out[key] += value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scanning the apiserver's metrics: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no apiserver_request_total sample for the operator's resources")
	}
	return out, nil
}

// splitSample parses `name{a="x",b="y"} 12` (label values hold no quotes or commas here).
func splitSample(line string) (map[string]string, float64, error) {
	open, closing := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
	if open < 0 || closing < open {
		return nil, 0, fmt.Errorf("malformed sample %q", line)
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(line[open+1:closing], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		labels[k] = strings.Trim(v, `"`)
	}
	fs := strings.Fields(line[closing+1:])
	if len(fs) == 0 {
		return nil, 0, fmt.Errorf("sample without a value %q", line)
	}
	v, err := strconv.ParseFloat(fs[0], 64)
	if err != nil {
		return nil, 0, fmt.Errorf("parsing the value of %q: %w", line, err)
	}
	return labels, v, nil
}

// fetch is the body of a GET of url (plain HTTP: the manager's metrics and pprof endpoints).
func fetch(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("building a request for %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	return body, nil
}

// gauge reads one unlabelled sample (e.g. go_memstats_heap_inuse_bytes) from a Prometheus text body.
func gauge(body []byte, name string) (float64, error) {
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return 0, fmt.Errorf("parsing %s: %w", name, err)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("no %s in the metrics", name)
}

// sum adds the samples of metric name whose labels include label (e.g. `name="tiktokpost"`) in a
// Prometheus text body.
func sum(body []byte, name, label string) (float64, error) {
	var total float64
	found := false
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, label) {
			continue
		}
		_, v, err := splitSample(line)
		if err != nil {
			return 0, err
		}
		total, found = total+v, true
	}
	if !found {
		return 0, fmt.Errorf("no %s{%s} in the metrics", name, label)
	}
	return total, nil
}

// saveURL writes the body of a GET of url to path.
func saveURL(ctx context.Context, url, path string) error {
	body, err := fetch(ctx, url)
	if err != nil {
		return err
	}
	return os.WriteFile(path, body, 0o600)
}

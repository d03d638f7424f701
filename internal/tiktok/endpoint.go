package tiktok

// Endpoint names one TikTok API endpoint. The values are stable: they are Prometheus label values, keys
// of the pacing engine's limits and the simulator's statistics.
type Endpoint string

// The endpoints the client calls. EndpointUpload is the chunked PUT to an init call's upload_url.
const (
	EndpointCreatorInfo Endpoint = "creator_info"
	EndpointVideoInit   Endpoint = "video_init"
	EndpointInboxInit   Endpoint = "inbox_init"
	EndpointContentInit Endpoint = "content_init"
	EndpointStatusFetch Endpoint = "status_fetch"
	EndpointCancel      Endpoint = "cancel"
	EndpointUpload      Endpoint = "upload"
	EndpointOAuthToken  Endpoint = "oauth_token"
)

// Endpoints lists every endpoint, for callers that pre-register metrics or limits.
var Endpoints = []Endpoint{
	EndpointCreatorInfo, EndpointVideoInit, EndpointInboxInit, EndpointContentInit,
	EndpointStatusFetch, EndpointCancel, EndpointUpload, EndpointOAuthToken,
}

// paths maps each endpoint with a fixed path to it; the upload URL comes from the init answer.
var paths = map[Endpoint]string{
	EndpointCreatorInfo: "/v2/post/publish/creator_info/query/",
	EndpointVideoInit:   "/v2/post/publish/video/init/",
	EndpointInboxInit:   "/v2/post/publish/inbox/video/init/",
	EndpointContentInit: "/v2/post/publish/content/init/",
	EndpointStatusFetch: "/v2/post/publish/status/fetch/",
	EndpointCancel:      "/v2/post/publish/cancel/",
	EndpointOAuthToken:  "/v2/oauth/token/",
}

// Path returns the URL path of e, or "" for EndpointUpload (its URL is given by TikTok).
func (e Endpoint) Path() string { return paths[e] }

// IsInit reports whether e creates a post; these are the calls the at-most-once rule is about.
func (e Endpoint) IsInit() bool {
	return e == EndpointVideoInit || e == EndpointInboxInit || e == EndpointContentInit
}

// Package pacing decides, for every call the operator makes to TikTok, "send now" or "not before T".
//
// It keeps, per account, an exact sliding-window log of the calls still inside any window, a fair queue of
// the posts waiting for an init slot, the cooldown after an unexpected 429 and an effective limit that
// is learned from refusals (see adaptive.go). It knows nothing of Kubernetes: time is injected
// (k8s.io/utils/clock) and the state is exported as plain data (State) so the controllers can checkpoint
// it. See docs/pacing.md.
package pacing

import "time"

// Limit is "at most Requests calls in any sliding window of length Window".
type Limit struct {
	// Requests is n; a limit of 0 (or less) never admits a call.
	Requests int `json:"requests"`
	// Window is W; windows are half-open, so calls stamped exactly W apart do not share one.
	Window time.Duration `json:"window"`
}

// Limits is the configuration of one account; it mirrors AccountQuota spec.limits.
type Limits struct {
	// PostInit applies to EACH init endpoint separately: video/init, inbox/video/init and content/init
	// (photo) each have their own window of this size.
	PostInit Limit `json:"postInit"`
	// StatusFetch limits /v2/post/publish/status/fetch/.
	StatusFetch Limit `json:"statusFetch"`
	// CreatorInfo limits /v2/post/publish/creator_info/query/.
	CreatorInfo Limit `json:"creatorInfo"`
	// DailyPosts caps direct posts (video or photo) TikTok accepted, rolling.
	DailyPosts Limit `json:"dailyPosts"`
	// PendingShares caps inbox drafts (video upload or photo MEDIA_UPLOAD), rolling.
	PendingShares Limit `json:"pendingShares"`
	// MinInterval is the spacing between the sends of ANY two calls of the account (TikTok throttles
	// sub-second bursts even under the per-minute limit).
	MinInterval time.Duration `json:"minInterval"`
}

// DefaultLimits returns TikTok's documented limits, the one Go definition of them. The AccountQuota CRD
// writes the same values in its default markers (which cannot name a Go value); a controllers test
// compares the two.
func DefaultLimits() Limits {
	return Limits{
		PostInit:      Limit{Requests: 6, Window: time.Minute},
		StatusFetch:   Limit{Requests: 30, Window: time.Minute},
		CreatorInfo:   Limit{Requests: 20, Window: time.Minute},
		DailyPosts:    Limit{Requests: 15, Window: 24 * time.Hour},
		PendingShares: Limit{Requests: 5, Window: 24 * time.Hour},
		MinInterval:   time.Second,
	}
}

// Call is the kind of call the controller asks a slot for. Each kind counts against one rate window and
// at most one cap window; every call also respects MinInterval and the account's cooldown.
type Call string

const (
	// CallDirectVideoInit is video/init: counts against postInit/video and dailyPosts.
	CallDirectVideoInit Call = "DirectVideoInit"
	// CallInboxVideoInit is inbox/video/init: counts against postInit/inbox and pendingShares.
	CallInboxVideoInit Call = "InboxVideoInit"
	// CallDirectPhotoInit is content/init with DIRECT_POST: postInit/photo and dailyPosts.
	CallDirectPhotoInit Call = "DirectPhotoInit"
	// CallUploadPhotoInit is content/init with MEDIA_UPLOAD: postInit/photo and pendingShares.
	CallUploadPhotoInit Call = "UploadPhotoInit"
	// CallStatusFetch is status/fetch: statusFetch only.
	CallStatusFetch Call = "StatusFetch"
	// CallCreatorInfo is creator_info/query: creatorInfo only.
	CallCreatorInfo Call = "CreatorInfo"
)

// Window indexes. The order is the order of Usage.
const (
	winPostVideo = iota
	winPostInbox
	winPostPhoto
	winStatus
	winCreator
	winDaily
	winPending
	numWindows
)

// windowNames are the names Usage reports (and State.Adaptive uses).
var windowNames = [numWindows]string{
	"postInit/video", "postInit/inbox", "postInit/photo", "statusFetch", "creatorInfo", "dailyPosts", "pendingShares",
}

// callKind is the compact form of Call kept in the log (one byte instead of a string header).
type callKind uint8

const (
	kindInvalid callKind = iota
	kindDirectVideo
	kindInboxVideo
	kindDirectPhoto
	kindUploadPhoto
	kindStatus
	kindCreator
	numKinds
)

var kindCalls = [numKinds]Call{
	"", CallDirectVideoInit, CallInboxVideoInit, CallDirectPhotoInit, CallUploadPhotoInit, CallStatusFetch, CallCreatorInfo,
}

// kindRate and kindCap map a kind to its rate window and its cap window (-1: none).
var (
	kindRate = [numKinds]int8{-1, winPostVideo, winPostInbox, winPostPhoto, winPostPhoto, winStatus, winCreator}
	kindCap  = [numKinds]int8{-1, winDaily, winPending, winDaily, winPending, -1, -1}
)

func (c Call) kind() callKind {
	switch c {
	case CallDirectVideoInit:
		return kindDirectVideo
	case CallInboxVideoInit:
		return kindInboxVideo
	case CallDirectPhotoInit:
		return kindDirectPhoto
	case CallUploadPhotoInit:
		return kindUploadPhoto
	case CallStatusFetch:
		return kindStatus
	case CallCreatorInfo:
		return kindCreator
	}
	return kindInvalid
}

// limit returns the configured limit of window i.
func (l Limits) limit(i int) Limit {
	switch i {
	case winPostVideo, winPostInbox, winPostPhoto:
		return l.PostInit
	case winStatus:
		return l.StatusFetch
	case winCreator:
		return l.CreatorInfo
	case winDaily:
		return l.DailyPosts
	case winPending:
		return l.PendingShares
	}
	return Limit{}
}

// Outcome is what became of a reserved call; it decides which windows keep counting it.
type Outcome int

const (
	// Pending: no answer yet. Counts everywhere (the call may have been taken). Only seen in State.
	Pending Outcome = iota
	// Accepted: TikTok took it. Counts everywhere.
	Accepted
	// Rejected: a certain no (a 4xx other than 429). Counts in the rate window, not in the daily/pending caps.
	Rejected
	// Throttled: a 429. Counts in the rate window, not in the caps, and triggers the adaptive cooldown
	// unless the engine expected it (see Engine.Throttled).
	Throttled
	// Uncertain: maybe taken (timeout, crash mid-call). Counts everywhere.
	Uncertain
	// Abandoned: never sent. Frees the slot entirely, as if it had never been reserved.
	Abandoned
)

// countsInCap reports whether a call with this outcome uses a daily/pending slot.
func (o Outcome) countsInCap() bool { return o != Rejected && o != Throttled && o != Abandoned }

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Pending:
		return "Pending"
	case Accepted:
		return "Accepted"
	case Rejected:
		return "Rejected"
	case Throttled:
		return "Throttled"
	case Uncertain:
		return "Uncertain"
	case Abandoned:
		return "Abandoned"
	}
	return "Outcome(?)"
}

package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/go-logr/logr"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// TikTokPostReconciler drives one post through its phases: Pending, Scheduled (before publishAt), Queued
// (waiting for a slot of its account), Publishing (intent written, init call, upload), Processing (TikTok
// works on it; status/fetch polled), and then Published, Delivered (Upload mode) or Failed with a reason.
//
// It is thin: the pacing engine decides when a call may go, the TikTok client makes it, and this type
// reads, decides and writes status. Status is written only when it changes in meaning (invariant
// "bounded writes").
type TikTokPostReconciler struct {
	deps

	// kicks wakes posts up ahead of their projected time (a new head of a queue, an upload finished);
	// accountKicks wakes accounts (a token TikTok refused).
	kicks, accountKicks chan eventFor
	base                *baseContext
	// intents names the intents this process writes (see intentSource).
	intents *intentSource

	mu sync.Mutex
	// posts holds what the process knows of a post beyond its status: precise backoff expiry, poll
	// schedule, the answer not yet written, the upload in progress. Keyed by namespace/name.
	posts map[types.NamespacedName]*postMemory
}

// postMemory is the in-memory side of a post; it may be lost with the process and is rebuilt from the
// status (less precisely) after a restart.
type postMemory struct {
	uid          types.UID
	account      accountKey
	notBefore    time.Time // backoff expiry with full precision (status keeps seconds)
	nextPoll     time.Time
	pollInterval time.Duration
	// unwritten is a status that carries a TikTok answer and could not be written yet: it is applied
	// before anything else on the next reconcile, so an answer is never lost to a failed write.
	unwritten *v1alpha1.TikTokPostStatus
	// upload is the FileUpload transfer this process runs for the post. Its result goes into unwritten
	// when it ends, so a failed write of that result loses nothing.
	upload *uploadJob
	// lastProjection is the projected slot written to status (to rewrite it only when it moves).
	lastProjection time.Time
	publishID      string // for a cancel when the post is deleted mid-download
	// sent holds the intents (AttemptRecord.intentID) whose call this process started: an intent of this
	// process that is not in it was never sent (see intentSource).
	sent        map[string]bool
	pullFromURL bool
	// accountGoneSince is when this process first found the post's AccountQuota missing while the post
	// was in flight (zero while it exists).
	accountGoneSince time.Time
	// ownWrite is this process's last status write, until the cache shows it.
	ownWrite *ownWrite
	// epoch is the account's epoch (accountRegistry.epoch) when unwritten and ownWrite were taken. When the
	// account's Lease changed hands since, another manager's status is the truth: an answer this process
	// could not write (stale now) and its own last write are dropped, never written over it.
	epoch uint64
}

// ownWrite is a status write the cache may not show yet. Under load the watch runs hundreds of
// milliseconds behind, and a reconcile that decided on the copy from before our own write would have its
// write refused (409) and come back, again and again, until the watch caught up: the head of a queue
// would miss its slot that long. A cached copy whose resourceVersion is the one our write replaced is
// exactly that copy, so the status we wrote, with its resourceVersion, stands in for it. Anything else
// (a newer copy, or another writer's) is taken as read.
type ownWrite struct {
	replaced, version string
	status            *v1alpha1.TikTokPostStatus
}

// applyOwnWrite puts our last write in place of a cached copy that predates it, and forgets the write once
// the cache moved on.
func (m *postMemory) applyOwnWrite(post *v1alpha1.TikTokPost) {
	o := m.ownWrite
	if o == nil {
		return
	}
	if post.ResourceVersion != o.replaced {
		m.ownWrite = nil // the cache shows our write, or something newer: it is the truth from now on
		return
	}
	post.ResourceVersion = o.version
	post.Status = *o.status.DeepCopy()
}

func (r *TikTokPostReconciler) memory(key types.NamespacedName, uid types.UID) *postMemory {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.posts[key]
	if m == nil || m.uid != uid {
		m = &postMemory{uid: uid}
		r.posts[key] = m
	}
	return m
}

// +kubebuilder:rbac:groups=publish.tiktok-operator.dev,resources=tiktokposts,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=publish.tiktok-operator.dev,resources=tiktokposts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=publish.tiktok-operator.dev,resources=accountquotas,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile moves a post one step along. Each step reads the post, decides, and returns; the status is
// written once at the end when it changed (the intent and the init answer are written at once, inside
// the publish step, because the at-most-once rule depends on them).
func (r *TikTokPostReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	post := &v1alpha1.TikTokPost{}
	if err := r.Get(ctx, req.NamespacedName, post); err != nil {
		if apierrors.IsNotFound(err) {
			r.forgetPost(ctx, req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !post.DeletionTimestamp.IsZero() {
		return r.deleted(ctx, post, req.NamespacedName)
	}
	mem := r.memory(req.NamespacedName, post.UID)
	if e := r.Accounts.epoch(accountKeyFor(post)); e != mem.epoch {
		mem.unwritten, mem.ownWrite = nil, nil
	}
	mem.applyOwnWrite(post)
	written := post.Status.DeepCopy()
	if mem.unwritten != nil && equality.Semantic.DeepEqual(written, mem.unwritten) {
		mem.unwritten = nil // a write reported as failed landed after all: the cache shows it
	}
	if mem.unwritten != nil {
		// A TikTok answer (or an upload's result) from an earlier reconcile that could not be written: it
		// wins over the cache.
		post.Status = *mem.unwritten.DeepCopy()
	}
	acct := accountKeyFor(post)
	s := &postScope{post: post, written: written, mem: mem, now: r.Clock.Now(), acct: acct,
		log: log.FromContext(ctx).WithValues("account", acct)}

	res, err := r.reconcile(ctx, s)
	if werr := r.writeStatus(ctx, s); werr != nil {
		if apierrors.IsConflict(werr) && err == nil {
			// Decided on a stale copy (the cache lags behind our own last write, or someone else
			// wrote): decide again on a fresh one.
			s.log.V(1).Info("status write refused with a conflict: deciding again on a fresher copy",
				"phase", s.status().Phase, "retryIn", staleCopyRetry)
			return withPriority(ctrl.Result{RequeueAfter: staleCopyRetry}), nil
		}
		err = errors.Join(err, werr)
	} else if ferr := r.ensureFinalizer(ctx, s); ferr != nil {
		err = errors.Join(err, ferr)
	}
	if err != nil {
		return ctrl.Result{}, err // controller-runtime ignores RequeueAfter with an error: say so
	}
	return withPriority(res), nil
}

// postScope is one reconcile of one post: the object as it is being changed, the status as last
// written (to decide whether a write is needed), the post's memory and the time of the decision.
type postScope struct {
	post    *v1alpha1.TikTokPost
	written *v1alpha1.TikTokPostStatus
	mem     *postMemory
	now     time.Time
	account *v1alpha1.AccountQuota // the post's AccountQuota, once a step has read it
	acct    accountKey             // its key (spec.accountRef), known from the start
	// log is the reconcile's logger (controller-runtime's: it names the post) with the account: decisions
	// a user would ask about are logged at V(1), never with a token.
	log logr.Logger
}

func (s *postScope) status() *v1alpha1.TikTokPostStatus { return &s.post.Status }

// reconcile runs the steps in order; the first that stops ends the reconcile.
func (r *TikTokPostReconciler) reconcile(ctx context.Context, s *postScope) (ctrl.Result, error) {
	if owned, err := r.ownsPost(ctx, s.post); !owned || err != nil {
		return ctrl.Result{}, err // another release's shard: not a field of its status is ours to touch
	}
	st := s.status()
	st.ObservedGeneration = s.post.Generation
	if st.Phase == "" {
		st.Phase = v1alpha1.PhasePending
		markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonPending, "waiting to be queued")
	}
	res, err := runSteps(ctx, s,
		r.stepRetryAnnotation, // a new retry annotation (or a fixed spec) restarts a Failed post
		r.stepEnded,           // Published, Delivered and Failed posts have nothing more to do
		r.stepDeadline,        // a post not yet sent fails once spec.deadline passed
		r.stepAccount,         // the AccountQuota exists, this manager holds it, and it is ready
		r.stepInFlight,        // a post TikTok may have: the unanswered init, the upload, the poll
		r.stepSuspend,         // a suspended post (or account) waits outside the queue
		r.stepPreflight,       // what TikTok would refuse fails before any quota is spent
		r.stepLimits,          // maxAttempts ends the retries
		r.stepSchedule,        // spec.publishAt not reached: wait outside the queue
		r.stepQueue,           // the fair queue: a slot, then the publish
	)
	return untilDeadline(res.result, s), err
}

// untilDeadline makes sure a post that still waits wakes up at its deadline to be failed on time.
func untilDeadline(res ctrl.Result, s *postScope) ctrl.Result {
	d := s.post.Spec.Deadline
	if d == nil || s.status().Phase == v1alpha1.PhaseFailed || s.status().Phase == v1alpha1.PhasePublished ||
		s.status().Phase == v1alpha1.PhaseDelivered {
		return res
	}
	left := max(d.Sub(s.now), time.Millisecond)
	if res.RequeueAfter == 0 || left < res.RequeueAfter {
		res.RequeueAfter = left
	}
	return res
}

// writeStatus writes the post's status if it changed in meaning since it was last written. The write
// carries the resourceVersion the decision was made on and fails with a conflict if the post changed
// since: a decision made on a stale copy (the cache may lag behind our own last write) must not land.
// For the intent write this is the invariant "at most once": no call unless the intent is stored on top
// of what was read.
func (r *TikTokPostReconciler) writeStatus(ctx context.Context, s *postScope) error {
	if equality.Semantic.DeepEqual(s.written, &s.post.Status) {
		return nil
	}
	// A PUT of the status subresource, not a merge patch: it carries the object's resourceVersion, so a
	// status computed from a stale copy is refused (409) exactly as an optimistically locked patch would
	// be, and it spares the API server applying a patch to the stored object: about an eighth of its CPU
	// per write, and this is the write every post makes (docs/scale.md). The API server takes only the
	// status from it.
	desired := s.post.Status.DeepCopy()
	replaced := s.post.ResourceVersion
	if err := r.Status().Update(ctx, s.post); err != nil {
		s.post.Status = *desired
		return fmt.Errorf("writing the status of %s/%s: %w", s.post.Namespace, s.post.Name, err)
	}
	statusWrites.WithLabelValues("TikTokPost").Inc()
	// The answer carries the server's managedFields; a later write of this reconcile goes without
	// them, as every write from the cache does (ConfigureCache).
	s.post.SetManagedFields(nil)
	s.written = s.post.Status.DeepCopy()
	// s.written is never changed in place (only replaced), so the memory can share it.
	s.mem.ownWrite = &ownWrite{replaced: replaced, version: s.post.ResourceVersion, status: s.written}
	s.mem.epoch = r.Accounts.epoch(s.acct)
	s.mem.unwritten = nil
	return nil
}

// keepUnwritten keeps the status that records a TikTok answer (or an upload's result) in memory until a
// write lands, tagged with the account's epoch (see postMemory.epoch).
func (r *TikTokPostReconciler) keepUnwritten(s *postScope) {
	s.mem.unwritten = s.status().DeepCopy()
	s.mem.epoch = r.Accounts.epoch(s.acct)
}

// event records an Event on the post; messages never carry tokens (they come from status fields), and
// are cut to the bound of an Event's note.
func (r *TikTokPostReconciler) event(post *v1alpha1.TikTokPost, typ, reason, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(post, nil, typ, reason, reason, "%s", eventNote(format, args...))
	}
}

// stepRetryAnnotation restarts a Failed post when the retry annotation carries a new value, and re-runs
// a post that failed its pre-flight checks once its spec changed.
func (r *TikTokPostReconciler) stepRetryAnnotation(_ context.Context, s *postScope) (stepResult, error) {
	st := s.status()
	v := s.post.Annotations[v1alpha1.RetryAnnotation]
	retry := v != "" && v != st.LastRetryAnnotation
	if retry {
		st.LastRetryAnnotation = v
	}
	specFixed := st.Phase == v1alpha1.PhaseFailed && st.Attempts == 0 && s.written.ObservedGeneration != s.post.Generation
	if st.Phase != v1alpha1.PhaseFailed || (!retry && !specFixed) {
		return proceed(), nil
	}
	st.Phase = v1alpha1.PhasePending
	st.Attempts = 0
	st.LastError, st.BackoffDelay, st.NextAttemptTime = nil, nil, nil
	st.PublishID, st.ProcessingStatus, st.UploadProgress, st.QueuePosition = "", "", nil, 0
	s.mem.notBefore, s.mem.upload = time.Time{}, nil
	clearThrottled(&st.Conditions)
	markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonRetrying, "restarted by the retry annotation or a spec change")
	s.log.V(1).Info("post restarted: attempts reset", "reason", v1alpha1.ReasonRetrying, "retryAnnotation", retry,
		"specChanged", specFixed)
	r.event(s.post, corev1.EventTypeNormal, v1alpha1.ReasonRetrying, "Post restarted (attempts reset)")
	return proceed(), nil
}

// stepEnded stops at the end states: nothing more to do for them, and they leave the queue.
func (r *TikTokPostReconciler) stepEnded(_ context.Context, s *postScope) (stepResult, error) {
	switch s.status().Phase {
	case v1alpha1.PhasePublished, v1alpha1.PhaseDelivered, v1alpha1.PhaseFailed:
		if s.mem.account != "" {
			r.Engine.Remove(s.mem.account.engine(), s.post.Name)
		}
		return stop(ctrl.Result{}), nil
	}
	return proceed(), nil
}

// forgetPost drops a deleted post: it leaves its account's queue, and a download TikTok is still making
// for it is cancelled (best effort: TikTok only cancels PULL_FROM_URL downloads).
func (r *TikTokPostReconciler) forgetPost(ctx context.Context, key types.NamespacedName) {
	r.mu.Lock()
	m := r.posts[key]
	delete(r.posts, key)
	r.mu.Unlock()
	if m == nil || m.account == "" {
		return
	}
	log.FromContext(ctx).V(1).Info("post deleted: it leaves its account's queue", "namespace", key.Namespace,
		"name", key.Name, "account", m.account, "publishID", m.publishID)
	r.Engine.Remove(m.account.engine(), key.Name)
	r.kickHead(m.account)
	if m.publishID != "" && m.pullFromURL {
		r.cancelDownload(ctx, m.account, m.publishID)
	}
	if m.upload != nil {
		m.upload.cancel()
	}
}

// ownsPost says whether this process handles the post: always without an account selector; with one,
// only when the post's AccountQuota exists and matches it (accounts never split across releases, and a
// post whose account is unknown belongs to no shard yet: the account's creation wakes it).
func (r *TikTokPostReconciler) ownsPost(ctx context.Context, p *v1alpha1.TikTokPost) (bool, error) {
	if r.Options.AccountSelector.Empty() {
		return true, nil
	}
	aq := &v1alpha1.AccountQuota{}
	if err := r.Get(ctx, accountKeyFor(p).namespacedName(), aq); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return r.Options.AccountSelector.Matches(labelsOf(aq)), nil
}

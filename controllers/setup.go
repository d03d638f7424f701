package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"golang.org/x/time/rate"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

// Field indexes of the cache.
const (
	// indexAccountRef indexes TikTokPosts by spec.accountRef.name.
	indexAccountRef = "spec.accountRef.name"
	// indexSecretRef indexes AccountQuotas by spec.credentialsSecretRef.name.
	indexSecretRef = "spec.credentialsSecretRef.name"
)

// eventFor is a wake-up sent to a controller outside the watches.
type eventFor = event.GenericEvent

// ConfigureCache sets up the manager's cache for the operator:
//   - Secrets are limited to those that carry the credentials label (and so is the list/watch the cache
//     sends): the operator never sees any other Secret;
//   - Leases are limited to the account Leases (accountquota_lease.go): not leader election's, nor the nodes';
//   - managedFields are dropped from every cached object. The operator never reads them, they are about
//     half of a post's JSON, and a status PUT sent without them leaves the server's record as it was
//     (the API server keeps the live object's managedFields when a write carries none), so the cache
//     holds less and every write carries less for the API server to decode.
func ConfigureCache(opts *cache.Options) {
	opts.DefaultTransform = cache.TransformStripManagedFields()
	if opts.ByObject == nil {
		opts.ByObject = map[client.Object]cache.ByObject{}
	}
	opts.ByObject[&corev1.Secret{}] = cache.ByObject{
		Label: labels.SelectorFromSet(labels.Set{v1alpha1.CredentialsLabel: v1alpha1.CredentialsLabelValue}),
	}
	opts.ByObject[&coordinationv1.Lease{}] = cache.ByObject{
		Label: labels.SelectorFromSet(labels.Set{AccountLeaseLabel: "true"}),
	}
}

// deps are what both reconcilers share: one process's clients, clock, pacing engine, and what it knows
// of accounts, tokens and TikTok clients. Setup builds one set and hands it to both.
type deps struct {
	client.Client
	// APIReader reads past the cache: used before declaring an outcome uncertain, where a stale cache
	// would turn our own recorded answer into a false alarm.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.Clock
	Engine    *pacing.Engine
	Accounts  *accountRegistry
	Tokens    *tokenStore
	TikTok    *clientPool
	// Holders holds this manager's account Leases: it acts on an account only while it holds it.
	Holders *accountHolder
	Options Options
}

// Setup builds the shared pacing engine, token store and TikTok clients, and registers both
// reconcilers with mgr. Tests call it too, so a test manager is the production one.
func Setup(mgr ctrl.Manager, opts Options) error {
	opts = opts.withDefaults()
	registerMetrics()
	ctx := context.Background()
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &v1alpha1.TikTokPost{}, indexAccountRef, func(o client.Object) []string {
		return []string{o.(*v1alpha1.TikTokPost).Spec.AccountRef.Name}
	}); err != nil {
		return fmt.Errorf("indexing posts by account: %w", err)
	}
	if err := idx.IndexField(ctx, &v1alpha1.AccountQuota{}, indexSecretRef, func(o client.Object) []string {
		return []string{o.(*v1alpha1.AccountQuota).Spec.CredentialsSecretRef.Name}
	}); err != nil {
		return fmt.Errorf("indexing accounts by Secret: %w", err)
	}

	engine := pacing.NewEngine(opts.Clock, opts.Rand)
	// A call to TikTok is given up after CallTimeout; an unanswered one (and, after a restart, the calls
	// the checkpoint may have missed) holds its slots for that long plus a margin, then its window.
	engine.SetMaxInFlight(opts.CallTimeout + 5*time.Second)
	engine.SetRefusalMargin(opts.RefusalMargin)
	accounts := newAccountRegistry(engine, mgr.GetClient(), opts.Clock.Now)
	tokens := newTokenStore()
	pool := newClientPool(opts)
	base := &baseContext{}
	if err := mgr.Add(base); err != nil {
		return fmt.Errorf("adding the uploads' base context to the manager: %w", err)
	}
	postsByPhase.set(mgr.GetClient())
	accountStatus.set(mgr.GetClient(), opts.AccountSelector)
	if err := mgr.Add(quotaMetrics{&quotaSource{engine: engine, accounts: accounts, now: opts.Clock.Now}}); err != nil {
		return fmt.Errorf("adding the quota metrics to the manager: %w", err)
	}

	recorder := mgr.GetEventRecorder("tiktok-operator")
	holders := newAccountHolder(mgr.GetClient(), mgr.GetAPIReader(), opts, recorder)
	holders.log = mgr.GetLogger().WithName("account-lease") // the manager's logger (ctrl.Log in production)
	holders.busy = func(ctx context.Context, acct accountKey) (bool, bool) {
		return accounts.busy(ctx, acct, opts.AccountSelector, holders.idleDuration())
	}
	if err := mgr.Add(holders); err != nil {
		return fmt.Errorf("adding the account Lease holder to the manager: %w", err)
	}
	// A standby (leader election) sees the account Leases' renewals from its start, not only once it
	// leads: a Lease lapses a duration after the last renewal this process saw, so a new leader after a
	// crash waits out what is left of the old leader's Leases, not a whole duration after it led.
	leases, err := mgr.GetCache().GetInformer(context.Background(), &coordinationv1.Lease{})
	if err != nil {
		return fmt.Errorf("watching the account Leases: %w", err)
	}
	if _, err := leases.AddEventHandler(holders.observer()); err != nil {
		return fmt.Errorf("watching the account Leases: %w", err)
	}

	d := deps{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder,
		Clock: opts.Clock, Engine: engine, Accounts: accounts, Tokens: tokens, TikTok: pool, Holders: holders, Options: opts,
	}
	aqr := &AccountQuotaReconciler{
		deps:        d,
		kicks:       make(chan eventFor, 1024),
		writeBudget: rate.NewLimiter(rate.Limit(opts.AccountStatusQPS), max(1, int(opts.AccountStatusQPS))),
	}
	pr := &TikTokPostReconciler{
		deps:  d,
		kicks: make(chan eventFor, 4096), accountKicks: aqr.kicks, base: base, intents: newIntentSource(),
		posts: map[types.NamespacedName]*postMemory{},
	}
	// An account whose Lease changes hands is forgotten: its pacing state here, and (through its epoch) what
	// this process remembers of its posts; the uploads it runs stop by themselves (watchUpload).
	holders.reset = accounts.reset
	if err := aqr.setupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the AccountQuota controller: %w", err)
	}
	if err := pr.setupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the TikTokPost controller: %w", err)
	}
	return nil
}

func (r *AccountQuotaReconciler) setupWithManager(mgr ctrl.Manager) error {
	sel := r.Options.AccountSelector
	return ctrl.NewControllerManagedBy(mgr).
		Named("accountquota").
		For(&v1alpha1.AccountQuota{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return sel.Matches(labels.Set(o.GetLabels()))
		}))).
		// A Secret change (tokens put in by a human, the label added) wakes the accounts that use it.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.accountsOfSecret)).
		// A post that changes phase changes the account's queue figures.
		Watches(&v1alpha1.TikTokPost{}, accountOfPostHandler(r.Options.AccountStatusInterval, r.figuresDue, r.Clock.Now),
			builder.WithPredicates(phaseChanged())).
		WatchesRawSource(source.Channel(r.kicks, &handler.EnqueueRequestForObject{})).
		// A Lease that changes holder wakes its account (every renewal is seen for the lapse by the holder's
		// observer, registered in Setup).
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(accountOfLeaseRequest), builder.WithPredicates(holderChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.MaxConcurrentReconciles}).
		Complete(r.Holders.track(r))
}

func (r *TikTokPostReconciler) setupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("tiktokpost").
		For(&v1alpha1.TikTokPost{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		// An account that changes (becomes ready, is suspended, gets creator info) wakes its posts.
		Watches(&v1alpha1.AccountQuota{}, handler.EnqueueRequestsFromMapFunc(r.postsOfAccount),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, readyChanged()))).
		WatchesRawSource(source.Channel(r.kicks, kickHandler)).
		// A Lease that changes holder (taken over, released) wakes the account's posts in every manager.
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(r.postsOfLease), builder.WithPredicates(holderChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.MaxConcurrentReconciles}).
		Complete(r.Holders.track(r))
}

// kickHandler enqueues a kicked post at slot priority: a kick says that a slot may be open now (or that an
// upload ended), and the post must not wait behind a bulk of ordinary work, such as the 60 posts an
// account that just became ready wakes at once.
var kickHandler = handler.Funcs{
	GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.Object)}
		if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok {
			pq.AddWithOpts(priorityqueue.AddOpts{Priority: ptr.To(slotPriority)}, req)
			return
		}
		q.Add(req)
	},
}

// accountOfPostHandler wakes a post's account when the post is created, changes phase or is deleted (its
// queue figures moved), after delay (AccountStatusInterval) rather than at once: a bulk apply changes
// thousands of phases within a minute, and one reconcile per account and interval then counts them all
// (the work queue keeps the earliest wake-up of an account already waiting; the figures are written at
// most once an interval anyway). Woken at once, 1,000 accounts of 10 posts each ran 24,000 reconciles
// while their 10,000 posts were queued (docs/scale.md).
//
// An account whose next figures write may only go later than that (figuresDue: its turn in the process's
// write budget) is woken then instead: a reconcile before it would count the figures and write nothing.
// With 1,000 accounts and a budget of 10 writes a second, a turn comes every 100 s, and waking each
// account every interval meanwhile ran 15,000 to 20,000 reconciles that wrote nothing.
func accountOfPostHandler(delay time.Duration, figuresDue func(acct accountKey) time.Time, now func() time.Time) handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	add := func(o client.Object, q queue) {
		p, ok := o.(*v1alpha1.TikTokPost)
		if !ok {
			return
		}
		acct, after := accountKeyFor(p), delay
		if due := figuresDue(acct); !due.IsZero() {
			after = max(after, due.Sub(now()))
		}
		q.AddAfter(reconcile.Request{NamespacedName: acct.namespacedName()}, after)
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q queue) { add(e.Object, q) },
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q queue) {
			add(e.ObjectOld, q) // accountRef may change before the first attempt: both accounts' figures move
			add(e.ObjectNew, q)
		},
		DeleteFunc:  func(_ context.Context, e event.DeleteEvent, q queue) { add(e.Object, q) },
		GenericFunc: func(_ context.Context, e event.GenericEvent, q queue) { add(e.Object, q) },
	}
}

// accountsOfSecret maps a Secret to the accounts that name it.
func (r *AccountQuotaReconciler) accountsOfSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.AccountQuotaList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexSecretRef: o.GetName()}); err != nil {
		// The accounts are not woken by this change; their own requeue still comes.
		log.FromContext(ctx).Error(err, "listing the accounts that use a Secret", "secret", client.ObjectKeyFromObject(o))
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// postsOfAccount maps an account to the posts that still wait on it (ended posts are left alone).
func (r *TikTokPostReconciler) postsOfAccount(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.TikTokPostList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexAccountRef: o.GetName()},
		client.UnsafeDisableDeepCopy); err != nil { // read-only
		// The posts are not woken by this change; their own requeue still comes.
		log.FromContext(ctx).Error(err, "listing the posts of an account", "account", client.ObjectKeyFromObject(o))
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		switch list.Items[i].Status.Phase {
		case v1alpha1.PhasePublished, v1alpha1.PhaseDelivered, v1alpha1.PhaseFailed:
			continue
		}
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// phaseChanged passes post updates that change the phase, creations and deletions.
func phaseChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*v1alpha1.TikTokPost)
		n, ok2 := e.ObjectNew.(*v1alpha1.TikTokPost)
		return !ok1 || !ok2 || o.Status.Phase != n.Status.Phase
	}}
}

// readyChanged passes account updates that change the Ready condition or the creator info.
func readyChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*v1alpha1.AccountQuota)
		n, ok2 := e.ObjectNew.(*v1alpha1.AccountQuota)
		if !ok1 || !ok2 {
			return true
		}
		ready := func(a *v1alpha1.AccountQuota) string {
			for _, c := range a.Status.Conditions {
				if c.Type == v1alpha1.ConditionReady {
					return string(c.Status) + c.Reason
				}
			}
			return ""
		}
		return ready(o) != ready(n) || (o.Status.Creator == nil) != (n.Status.Creator == nil)
	}}
}

// kickHead wakes the post at the head of an account's queue: a slot may have opened before the time it
// was told (an answer came early, a post left the queue).
func (r *TikTokPostReconciler) kickHead(acct accountKey) {
	post, ok := r.Engine.Head(acct.engine(), r.Clock.Now())
	if !ok {
		return
	}
	r.kick(r.kicks, &v1alpha1.TikTokPost{ObjectMeta: metav1.ObjectMeta{Namespace: acct.Namespace(), Name: post}})
}

// kickPost wakes one post (its upload ended).
func (r *TikTokPostReconciler) kickPost(p *v1alpha1.TikTokPost) { r.kick(r.kicks, p) }

// kickAccount wakes an account's reconciler (its token was refused).
func (r *TikTokPostReconciler) kickAccount(aq *v1alpha1.AccountQuota) { r.kick(r.accountKicks, aq) }

// kick never blocks a reconcile: when the channel is full the wake-up is dropped and the object's own
// requeue time still comes.
func (r *TikTokPostReconciler) kick(ch chan eventFor, o client.Object) {
	select {
	case ch <- eventFor{Object: o}:
	default:
	}
}

// baseContext hands the manager's lifetime context to work that outlives a reconcile (uploads).
type baseContext struct {
	mu  sync.Mutex
	ctx context.Context
}

func (b *baseContext) Start(ctx context.Context) error {
	b.mu.Lock()
	b.ctx = ctx
	b.mu.Unlock()
	<-ctx.Done()
	return nil
}

func (b *baseContext) get() context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx == nil {
		return context.Background()
	}
	return b.ctx
}

var _ manager.Runnable = &baseContext{}

func (r *TikTokPostReconciler) baseContext() context.Context { return r.base.get() }

package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/go-logr/logr"

	"golang.org/x/time/rate"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// AccountQuotaReconciler keeps an account usable and visible: it loads the credentials, refreshes the
// access token before it expires (persisting the rotated refresh token first), caches creator_info,
// and publishes the pacing engine's view (usage, queue, cooldown) and checkpoint in the status,
// coalesced to one write every few seconds at most.
type AccountQuotaReconciler struct {
	deps

	kicks chan eventFor
	// writeBudget spreads the coalesced status writes of all accounts (Options.AccountStatusQPS).
	writeBudget *rate.Limiter
}

// How soon an account looks again after each kind of setback.
const (
	// refreshInFlightWait: another reconcile's token refresh is under way and reports its own outcome.
	refreshInFlightWait = time.Second
	// secretWriteRetry: TikTok issued new tokens and the Secret refused them; they wait in memory.
	secretWriteRetry = 5 * time.Second
	// callRetry: a refresh or creator_info call failed for a reason that may pass.
	callRetry = 10 * time.Second
	// capRecheck: creator_info says the creator cannot post now (a cap of TikTok's counts other apps too).
	capRecheck = time.Hour
)

// +kubebuilder:rbac:groups=publish.tiktok-operator.dev,resources=accountquotas,verbs=get;list;watch
// +kubebuilder:rbac:groups=publish.tiktok-operator.dev,resources=accountquotas/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;update

// accountScope is one reconcile of one account.
type accountScope struct {
	aq      *v1alpha1.AccountQuota
	written *v1alpha1.AccountQuotaStatus
	acct    accountKey
	now     time.Time
	tokens  *accountTokens
	// requeue is the earliest time something is due (a refresh, creator info, a coalesced write).
	requeue time.Time
	// log is the reconcile's logger (controller-runtime's: it names the account) with the account's key:
	// decisions a user would ask about are logged at V(1), never with a token.
	log logr.Logger
}

// due notes that something is due at t; Reconcile requeues at the earliest time noted (a zero t is none).
func (s *accountScope) due(t time.Time) {
	if !t.IsZero() && (s.requeue.IsZero() || t.Before(s.requeue)) {
		s.requeue = t
	}
}

// Reconcile brings one account up to date: the steps (reconcile), then the status view, written when
// it changed (coalesced for the moving figures).
func (r *AccountQuotaReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	acct := accountKeyOf(req.Namespace, req.Name)
	aq := &v1alpha1.AccountQuota{}
	if err := r.Get(ctx, req.NamespacedName, aq); err != nil {
		if apierrors.IsNotFound(err) {
			r.Accounts.forget(acct)
			r.Tokens.forget(acct)
			r.Holders.forget(acct)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !r.Options.AccountSelector.Matches(labelsOf(aq)) || !aq.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	// Only the manager that holds the account's Lease calls TikTok for it and writes its figures.
	held, err := r.holdForAccount(ctx, aq)
	if err != nil {
		return ctrl.Result{}, err
	}
	if held.stop {
		return held.result, nil
	}
	s := &accountScope{aq: aq, written: aq.Status.DeepCopy(), acct: acct, now: r.Clock.Now(),
		log: log.FromContext(ctx).WithValues("account", acct)}
	aq.Status.ObservedGeneration = aq.Generation
	r.tidyContended(s)

	_, err = runSteps(ctx, s,
		r.stepPacing,      // the pacing engine holds the account's limits and what it learned
		r.stepSuspend,     // a suspended account makes no call at all
		r.stepEndpoint,    // an endpoint the manager does not admit gets nothing
		r.stepCredentials, // the tokens come from the account's Secret
		r.stepRefresh,     // the access token is refreshed before it expires
		r.stepCreatorInfo, // creator_info is fresh (the privacy options posts are checked against)
		r.stepReady,       // every step went through: the account is Ready
	)
	r.view(ctx, s)
	if werr := r.writeStatus(ctx, s); werr != nil {
		if apierrors.IsConflict(werr) && err == nil {
			s.log.V(1).Info("status write refused with a conflict: deciding again on a fresher copy", "retryIn", staleCopyRetry)
			return ctrl.Result{RequeueAfter: staleCopyRetry}, nil // decided on a stale copy
		}
		err = errors.Join(err, werr)
	}
	if err != nil {
		// controller-runtime ignores a result returned with an error: the rate limiter brings the account
		// back, and that reconcile works out again what is due.
		return ctrl.Result{}, err
	}
	var res ctrl.Result
	if !s.requeue.IsZero() {
		res.RequeueAfter = max(s.requeue.Sub(r.Clock.Now()), time.Millisecond)
	}
	return res, nil
}

// The account's steps stop with an empty result: what each is waiting for goes into the scope (due),
// together with what the status view and the coalesced write are waiting for, and Reconcile requeues at
// the earliest.

// stepPacing gives the pacing engine the account's limits, and its checkpoint after a restart.
func (r *AccountQuotaReconciler) stepPacing(ctx context.Context, s *accountScope) (stepResult, error) {
	if err := r.Accounts.prepare(ctx, s.aq); err != nil {
		return stepResult{}, err
	}
	return proceed(), nil
}

// stepSuspend makes no call at all while the account is suspended: no refresh, no creator_info (its
// posts hold back too).
func (r *AccountQuotaReconciler) stepSuspend(_ context.Context, s *accountScope) (stepResult, error) {
	if !s.aq.Spec.Suspend {
		return proceed(), nil
	}
	markSuspended(&s.aq.Status.Conditions, s.aq.Generation, "spec.suspend is true: no call to TikTok is made for this account")
	s.log.V(1).Info("account suspended: no call is made", "reason", v1alpha1.ReasonSuspended)
	return stop(ctrl.Result{}), nil
}

// stepReady marks the account Ready: credentials loaded, token usable, creator info at hand.
func (r *AccountQuotaReconciler) stepReady(_ context.Context, s *accountScope) (stepResult, error) {
	c := s.aq.Status.Creator
	markReady(&s.aq.Status.Conditions, s.aq.Generation, v1alpha1.ReasonAccountReady,
		fmt.Sprintf("credentials loaded; creator @%s", c.Username))
	return proceed(), nil
}

// stepEndpoint stops an account whose endpoint the manager does not admit (--allowed-endpoints) before
// anything is sent: no token refresh, no creator_info. A human must act (list the endpoint, or fix
// spec.endpoint), so the account is Stalled; its posts wait as they do for any account that is not ready.
func (r *AccountQuotaReconciler) stepEndpoint(_ context.Context, s *accountScope) (stepResult, error) {
	err := r.TikTok.admit(s.aq)
	if err == nil {
		return proceed(), nil
	}
	r.stalled(s, v1alpha1.ReasonEndpointNotAllowed, fmt.Sprintf("spec.endpoint: %v. The manager's administrators decide "+
		"where credentials may go: add the endpoint to %s (Helm value allowedEndpoints), or point spec.endpoint at one it lists",
		err, AllowedEndpointsFlag))
	return stop(ctrl.Result{}), nil
}

// stepCredentials loads the tokens from the account's Secret (read through the label-restricted cache:
// a Secret without the credentials label is invisible to the operator).
func (r *AccountQuotaReconciler) stepCredentials(ctx context.Context, s *accountScope) (stepResult, error) {
	st := &s.aq.Status
	ref := s.aq.Spec.CredentialsSecretRef.Name
	sec := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: s.aq.Namespace, Name: ref}, sec)
	if apierrors.IsNotFound(err) {
		msg := fmt.Sprintf("Secret %q (spec.credentialsSecretRef) not found, or not labelled %s=%s",
			ref, v1alpha1.CredentialsLabel, v1alpha1.CredentialsLabelValue)
		r.stalled(s, v1alpha1.ReasonCredentialsMissing, msg)
		return stop(ctrl.Result{}), nil
	}
	if err != nil {
		return stepResult{}, err
	}
	var issued time.Time
	if st.Token != nil && st.Token.LastRefreshTime != nil {
		issued = st.Token.LastRefreshTime.Time
	}
	tok, err := r.Tokens.load(s.acct, sec, issued)
	if err != nil {
		r.stalled(s, v1alpha1.ReasonCredentialsInvalid, err.Error()+" (spec.credentialsSecretRef)")
		return stop(ctrl.Result{}), nil
	}
	s.tokens = tok
	return proceed(), nil
}

// stepRefresh refreshes the access token at 80% of its lifetime (or at once when TikTok refused it),
// writing the new pair to the Secret before the new access token is used.
func (r *AccountQuotaReconciler) stepRefresh(ctx context.Context, s *accountScope) (stepResult, error) {
	r.settleOrphans(ctx, s)
	due := s.tokens.refreshDue(s.now, r.Options.TokenRefreshFraction, r.Options.TokenRefreshMinInterval)
	if s.now.Before(due) {
		s.due(due)
		r.recordTokens(s)
		return proceed(), nil
	}
	tt, err := r.TikTok.forAccount(s.aq)
	if err != nil {
		return stop(ctrl.Result{}), nil // stepEndpoint reports it; nothing is sent
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.Options.CallTimeout)
	defer cancel()
	err = s.tokens.refresh(cctx, tt, r.Client, r.APIReader, r.Clock.Now)
	r.recordTokens(s)
	var we *secretWriteError
	switch {
	case err == nil:
		r.event(s.aq, corev1.EventTypeNormal, "TokenRefreshed", "Access token refreshed; the Secret holds the new tokens")
		next := s.tokens.refreshDue(r.Clock.Now(), r.Options.TokenRefreshFraction, r.Options.TokenRefreshMinInterval)
		s.due(next)
		s.log.V(1).Info("access token refreshed; the Secret holds the new tokens", "secret", s.aq.Spec.CredentialsSecretRef.Name,
			"accessTokenExpiresAt", s.tokens.snapshot().accessExpiresAt, "nextRefresh", next)
		return proceed(), nil
	case errors.Is(err, errRefreshInFlight):
		// Another reconcile's refresh is under way (it reports its own outcome).
		s.log.V(1).Info("a token refresh of the account is already in flight", "retryIn", refreshInFlightWait)
		s.due(r.Clock.Now().Add(refreshInFlightWait))
		if !s.tokens.usable(s.now) {
			return stop(ctrl.Result{}), nil
		}
		return proceed(), nil
	case errors.As(err, &we):
		// TikTok issued new tokens and the Secret refused them: they stay in memory and are written
		// again soon. The previous access token goes on serving until then.
		r.event(s.aq, corev1.EventTypeWarning, v1alpha1.ReasonSecretWriteFailed,
			"The refreshed tokens could not be written to Secret %s (kept in memory, retrying): %v",
			s.aq.Spec.CredentialsSecretRef.Name, we.err)
		s.log.Error(we.err, "the refreshed tokens could not be written to the Secret: kept in memory, retrying",
			"secret", s.aq.Spec.CredentialsSecretRef.Name, "reason", v1alpha1.ReasonSecretWriteFailed, "retryIn", secretWriteRetry)
		markReconciling(&s.aq.Status.Conditions, s.aq.Generation, v1alpha1.ReasonSecretWriteFailed,
			"the refreshed tokens are not yet written to the Secret: "+truncate(we.err.Error(), 256))
		s.due(r.Clock.Now().Add(secretWriteRetry))
		return stop(ctrl.Result{}), nil
	}
	te := asTikTokError(err)
	if tiktok.ClassOf(err) == tiktok.Terminal {
		r.stalled(s, v1alpha1.ReasonCredentialsInvalid, fmt.Sprintf(
			"TikTok refused the refresh token (%s): the creator must authorize the app again", errorCode(te)))
		return stop(ctrl.Result{}), nil
	}
	r.event(s.aq, corev1.EventTypeWarning, v1alpha1.ReasonTokenRefreshFailed, "Token refresh failed, retrying: %s", errorCode(te))
	s.due(r.Clock.Now().Add(callRetry))
	usable := s.tokens.usable(s.now)
	s.log.V(1).Info("token refresh failed: retrying", "reason", v1alpha1.ReasonTokenRefreshFailed, "code", errorCode(te),
		"retryIn", callRetry, "accessTokenUsable", usable)
	if usable {
		return proceed(), nil
	}
	markProgressing(&s.aq.Status.Conditions, s.aq.Generation, v1alpha1.ReasonTokenRefreshFailed,
		fmt.Sprintf("the access token expired and the refresh failed (%s); retrying", errorCode(te)))
	return stop(ctrl.Result{}), nil
}

// settleOrphans writes the refreshed pairs of Secrets the account no longer uses back where they belong,
// or drops them, with an Event (naming the Secret, never a token) for each.
func (r *AccountQuotaReconciler) settleOrphans(ctx context.Context, s *accountScope) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.Options.CallTimeout)
	defer cancel()
	for _, o := range s.tokens.settleOrphans(cctx, r.Client, r.APIReader) {
		if o.written {
			r.event(s.aq, corev1.EventTypeNormal, v1alpha1.ReasonOrphanedTokensWritten,
				"Tokens refreshed from Secret %s before the account stopped using it were written back to Secret %s (uid %s), "+
					"not to Secret %s", o.from, o.from, o.from.UID, s.aq.Spec.CredentialsSecretRef.Name)
			continue
		}
		r.event(s.aq, corev1.EventTypeWarning, v1alpha1.ReasonOrphanedTokensDropped,
			"Tokens refreshed from Secret %s (uid %s) were never written and are dropped: %v. They belong to that Secret "+
				"only and are not written to Secret %s; if TikTok rotated the refresh token, the grant that Secret held is lost",
			o.from, o.from.UID, o.why, s.aq.Spec.CredentialsSecretRef.Name)
	}
}

// recordTokens mirrors the token expiry times (never the tokens) into the status.
func (r *AccountQuotaReconciler) recordTokens(s *accountScope) {
	p := s.tokens.snapshot()
	ts := &v1alpha1.TokenStatus{}
	if !p.accessExpiresAt.IsZero() {
		ts.AccessTokenExpiresAt = &metav1.Time{Time: p.accessExpiresAt.Truncate(time.Second)}
	}
	if !p.refreshExpiresAt.IsZero() {
		ts.RefreshTokenExpiresAt = &metav1.Time{Time: p.refreshExpiresAt.Truncate(time.Second)}
	}
	if !p.issuedAt.IsZero() {
		ts.LastRefreshTime = &metav1.Time{Time: p.issuedAt.Truncate(time.Second)}
	}
	s.aq.Status.Token = ts
}

// stepCreatorInfo keeps creator_info fresh (the privacy options posts are checked against), inside
// the creator_info window.
func (r *AccountQuotaReconciler) stepCreatorInfo(ctx context.Context, s *accountScope) (stepResult, error) {
	st := &s.aq.Status
	rt := r.Accounts.runtime(s.acct)
	mine, banned, asked := rt.creatorState()
	if mine != nil && (st.Creator == nil || st.Creator.FetchedAt.Before(mine.FetchedAt)) {
		st.Creator = mine
	}
	if c := st.Creator; c != nil && c.FetchedAt != nil && s.now.Before(c.FetchedAt.Add(r.Options.CreatorInfoTTL)) &&
		!creatorInfoSuspect(s.written) && (banned.IsZero() || banned.Before(asked)) {
		s.due(c.FetchedAt.Add(r.Options.CreatorInfoTTL))
		return proceed(), nil
	}
	// A creator_info refused for good (Stalled, CreatorInfoFailed) is asked again accountWait after the
	// refusal, or at once when the spec changes; not at the reconcile its own status write causes, which
	// asked at the creator_info window's pace (190 calls in 30 s of an endpoint answering 307) and made the
	// condition flap to Pending while the next call waited for its slot.
	if c := meta.FindStatusCondition(s.written.Conditions, v1alpha1.ConditionStalled); c != nil &&
		c.Reason == v1alpha1.ReasonCreatorInfoFailed && c.ObservedGeneration == s.aq.Generation &&
		!asked.IsZero() && s.now.Before(asked.Add(accountWait)) {
		s.due(asked.Add(accountWait))
		return stop(ctrl.Result{}), nil // the Stalled condition stays as written
	}
	tok, err := r.Tokens.access(s.acct)
	if err != nil {
		// A token TikTok refused, not refreshed yet: stepRefresh reports it and is due again.
		s.log.V(1).Info("no usable access token for creator_info: waiting for the refresh", "error", err)
		return stop(ctrl.Result{}), nil
	}
	tt, err := r.TikTok.forAccount(s.aq)
	if err != nil {
		return stop(ctrl.Result{}), nil // stepEndpoint reports it; nothing is sent
	}
	d := r.Engine.ReserveCall(s.acct.engine(), pacing.CallCreatorInfo, s.now)
	if !d.Granted {
		s.due(d.NotBefore)
		if st.Creator != nil {
			return proceed(), nil // the cached info serves meanwhile
		}
		markProgressing(&st.Conditions, s.aq.Generation, v1alpha1.ReasonPending, "waiting for a creator_info slot")
		return stop(ctrl.Result{}), nil
	}
	cctx, cancel := context.WithTimeout(ctx, r.Options.CallTimeout)
	info, err := tt.CreatorInfo(cctx, tok)
	cancel()
	answered := r.Clock.Now()
	r.Engine.Complete(d.Reservation, d.Reservation.At, answered, engineOutcome(err))
	rt.creatorAsked(answered)
	if err != nil {
		return r.creatorInfoFailed(s, err, tok, answered)
	}
	st.Creator = creatorStatusOf(info)
	st.Creator.FetchedAt = &metav1.Time{Time: answered.Truncate(time.Second)}
	rt.creatorFetched(st.Creator)
	s.due(answered.Add(r.Options.CreatorInfoTTL))
	s.log.V(1).Info("creator_info fetched", "creator", st.Creator.Username, "privacyLevelOptions", st.Creator.PrivacyLevelOptions)
	return proceed(), nil
}

// creatorInfoSuspect says the cached creator info cannot be trusted: the last answer said the creator
// was banned or could not post, so it is asked again when due.
func creatorInfoSuspect(st *v1alpha1.AccountQuotaStatus) bool {
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status != metav1.ConditionTrue && (c.Reason == v1alpha1.ReasonAccountBanned ||
		c.Reason == v1alpha1.ReasonQuotaExhausted || c.Reason == v1alpha1.ReasonCreatorInfoFailed)
}

func (r *AccountQuotaReconciler) creatorInfoFailed(s *accountScope, err error, tok tiktok.AccessToken, at time.Time) (stepResult, error) {
	te := asTikTokError(err)
	switch {
	case te.Code == "spam_risk_user_banned_from_posting":
		r.stalled(s, v1alpha1.ReasonAccountBanned, "TikTok says the creator is banned from posting")
		return stop(ctrl.Result{}), nil
	case capCodes[te.Code]:
		markProgressing(&s.aq.Status.Conditions, s.aq.Generation, v1alpha1.ReasonQuotaExhausted,
			fmt.Sprintf("TikTok says the creator cannot post now (%s); asking again later", te.Code))
		s.due(at.Add(capRecheck))
		return stop(ctrl.Result{}), nil
	}
	switch tiktok.ClassOf(err) {
	case tiktok.TokenInvalid:
		s.log.V(1).Info("TikTok refused the access token: refreshing it", "call", pacing.CallCreatorInfo)
		r.Tokens.invalidate(s.acct, tok)
		s.due(at)
	case tiktok.RateLimited:
		until := r.Engine.Throttled(s.acct.engine(), pacing.CallCreatorInfo, at, te.RetryAfter)
		s.log.V(1).Info("TikTok answered 429 to creator_info: the account's calls wait", "reason", v1alpha1.ReasonRateLimited,
			"until", until)
		s.due(until)
	case tiktok.Terminal:
		r.stalled(s, v1alpha1.ReasonCreatorInfoFailed, fmt.Sprintf("TikTok refused creator_info: %s: %s", errorCode(te), te.Message))
		return stop(ctrl.Result{}), nil
	default:
		s.due(at.Add(callRetry))
	}
	if s.aq.Status.Creator != nil {
		return proceed(), nil
	}
	markProgressing(&s.aq.Status.Conditions, s.aq.Generation, v1alpha1.ReasonCreatorInfoFailed,
		"creator_info failed ("+errorCode(te)+"); retrying")
	return stop(ctrl.Result{}), nil
}

// stalled marks the account as needing a human, with a Warning Event when the reason is new.
func (r *AccountQuotaReconciler) stalled(s *accountScope, reason, msg string) {
	if c := meta.FindStatusCondition(s.written.Conditions, v1alpha1.ConditionStalled); c == nil || c.Reason != reason {
		r.event(s.aq, corev1.EventTypeWarning, reason, "%s", msg)
		s.log.V(1).Info("account stalled: a human must act", "reason", reason, "message", msg)
	}
	markStalled(&s.aq.Status.Conditions, s.aq.Generation, reason, msg)
	s.due(r.Clock.Now().Add(accountWait))
}

func (r *AccountQuotaReconciler) event(aq *v1alpha1.AccountQuota, typ, reason, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(aq, nil, typ, reason, reason, "%s", eventNote(format, args...))
	}
}

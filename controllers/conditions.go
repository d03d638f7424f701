package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// The conditions follow kstatus: Ready is always present; Reconciling and Stalled are present only while
// they are True (an absent abnormal-true condition reads as False), so `kubectl wait --for=condition=Ready`
// and Flux's health checks both read the resource right.

// markReady sets Ready=True and removes Reconciling and Stalled: the object reached its goal.
func markReady(conds *[]metav1.Condition, gen int64, reason, msg string) {
	setCond(conds, gen, v1alpha1.ConditionReady, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
}

// markProgressing says work is pending: Ready=False and Reconciling=True with the same reason.
func markProgressing(conds *[]metav1.Condition, gen int64, reason, msg string) {
	setCond(conds, gen, v1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg)
	setCond(conds, gen, v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
}

// markStalled says the object cannot progress without a human: Ready=False and Stalled=True.
func markStalled(conds *[]metav1.Condition, gen int64, reason, msg string) {
	setCond(conds, gen, v1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg)
	setCond(conds, gen, v1alpha1.ConditionStalled, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
}

// markSuspended says the object waits, on purpose, for a human to resume it: Ready=False with reason
// Suspended, and neither Reconciling (no work is pending) nor Stalled (nothing is wrong).
func markSuspended(conds *[]metav1.Condition, gen int64, msg string) {
	setCond(conds, gen, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSuspended, msg)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
}

// markReconciling says work is pending while the object goes on serving as it is: Reconciling=True, and
// Ready as it was (an account whose refreshed tokens wait to be written keeps posting with the old ones).
func markReconciling(conds *[]metav1.Condition, gen int64, reason, msg string) {
	setCond(conds, gen, v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
}

// markThrottled sets the Throttled condition: the object waits for TikTok's limits, not for a fault.
func markThrottled(conds *[]metav1.Condition, gen int64, reason, msg string) {
	setCond(conds, gen, v1alpha1.ConditionThrottled, metav1.ConditionTrue, reason, msg)
}

// clearThrottled removes the Throttled condition (present only while True).
func clearThrottled(conds *[]metav1.Condition) {
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionThrottled)
}

// maxConditionMessage keeps condition messages, which quote TikTok's, readable in `kubectl get` and far
// inside the API's 32 KiB limit.
const maxConditionMessage = 1024

func setCond(conds *[]metav1.Condition, gen int64, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: truncate(msg, maxConditionMessage), ObservedGeneration: gen,
	})
}

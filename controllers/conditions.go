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

// setThrottled sets or removes the Throttled condition (present only while True).
func setThrottled(conds *[]metav1.Condition, gen int64, throttled bool, reason, msg string) {
	if !throttled {
		meta.RemoveStatusCondition(conds, v1alpha1.ConditionThrottled)
		return
	}
	setCond(conds, gen, v1alpha1.ConditionThrottled, metav1.ConditionTrue, reason, msg)
}

// maxConditionMessage keeps condition messages, which quote TikTok's, readable in `kubectl get` and far
// inside the API's 32 KiB limit.
const maxConditionMessage = 1024

func setCond(conds *[]metav1.Condition, gen int64, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: truncate(msg, maxConditionMessage), ObservedGeneration: gen,
	})
}

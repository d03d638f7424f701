package fleet

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// FloorRound is one round of the API server's floor: n posts created, then one status PUT each, with
// no manager running.
type FloorRound struct {
	Posts int
	// ManagedFields says whether the status PUTs carried the managedFields the creates returned (as a
	// client that caches whole objects sends them) or none (as the operator sends them).
	ManagedFields bool
	// CreateCPU and WriteCPU are the API server's CPU per create and per status write; EtcdCPU is etcd's
	// per status write.
	CreateCPU, WriteCPU, EtcdCPU time.Duration
	// CreateTook and WriteTook are the wall times of the two phases.
	CreateTook, WriteTook time.Duration
}

// RunFloor measures what the API server itself costs for the two writes every queued post needs (its
// create and one status write), without the operator: rounds of n posts created by workers writers, then
// the status of each written once (the projection the operator writes: phase Queued, a
// nextAttemptTime, two conditions), alternating rounds with and without managedFields in the status
// PUT's body. The rounds alternate so that a machine that grows busier during the run weighs on both.
func RunFloor(ctx context.Context, cp *ControlPlane, n, rounds, workers int) ([]FloorRound, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "floor-"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		return nil, fmt.Errorf("creating the namespace: %w", err)
	}
	var out []FloorRound
	for r := range rounds {
		withMF := r%4 == 0 || r%4 == 3 // with, without, without, with, ...: ABBA
		posts := make([]*v1alpha1.TikTokPost, n)
		before, err := ReadCPU(0)
		if err != nil {
			return out, err
		}
		t0 := time.Now()
		if err := Parallel(n, workers, func(i int) error {
			p := Post(ns.Name, fmt.Sprintf("r%d-%05d", r, i), "floor")
			if err := cp.Client.Create(ctx, p); err != nil {
				return err
			}
			posts[i] = p
			return nil
		}); err != nil {
			return out, fmt.Errorf("creating posts: %w", err)
		}
		created, err := ReadCPU(0)
		if err != nil {
			return out, err
		}
		t1 := time.Now()
		if err := Parallel(n, workers, func(i int) error {
			p := posts[i]
			if !withMF {
				p.ManagedFields = nil
			}
			now := metav1.Now()
			next := metav1.NewTime(now.Add(time.Hour))
			cond := func(typ string, st metav1.ConditionStatus) metav1.Condition {
				return metav1.Condition{Type: typ, Status: st, Reason: v1alpha1.ReasonQueued,
					Message: "waiting for a slot of AccountQuota floor", ObservedGeneration: 1, LastTransitionTime: now}
			}
			p.Status = v1alpha1.TikTokPostStatus{Phase: v1alpha1.PhaseQueued, ObservedGeneration: 1,
				NextAttemptTime: &next, QueuePosition: int32(i%10 + 1),
				Conditions: []metav1.Condition{
					cond(v1alpha1.ConditionReady, metav1.ConditionFalse),
					cond(v1alpha1.ConditionReconciling, metav1.ConditionTrue),
				}}
			return cp.Client.Status().Update(ctx, p)
		}); err != nil {
			return out, fmt.Errorf("writing statuses: %w", err)
		}
		written, err := ReadCPU(0)
		if err != nil {
			return out, err
		}
		c, w := created.Sub(before), written.Sub(created)
		out = append(out, FloorRound{Posts: n, ManagedFields: withMF,
			CreateCPU: c["kube-apiserver"] / time.Duration(n), WriteCPU: w["kube-apiserver"] / time.Duration(n),
			EtcdCPU: w["etcd"] / time.Duration(n), CreateTook: t1.Sub(t0), WriteTook: time.Since(t1)})
	}
	return out, nil
}

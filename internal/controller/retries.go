package controller

import (
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// retryPlanner is the controller's rate limiter. A reconcile that fails returns its error,
// so that controller-runtime counts and logs it, and controller-runtime then requeues the
// request through this limiter, which answers with the wait the reconciler planned for that
// connection (Retry-After, the held token's remaining validity, the next health check):
// the metrics are controller-runtime's, the timing stays ours. A request without a plan
// (an API server error) backs off exponentially, as controller-runtime's default limiter does.
type retryPlanner struct {
	fallback workqueue.TypedRateLimiter[reconcile.Request]

	mu sync.Mutex
	// attempts counts consecutive transient sign-in failures per connection.
	attempts map[reconcile.Request]int
	// planned is the wait before the next attempt, taken by When.
	planned map[reconcile.Request]time.Duration
}

func newRetryPlanner() *retryPlanner {
	return &retryPlanner{
		fallback: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, 1000*time.Second),
		attempts: map[reconcile.Request]int{},
		planned:  map[reconcile.Request]time.Duration{},
	}
}

// When returns the planned wait for req, once; without a plan, the fallback's backoff.
func (p *retryPlanner) When(req reconcile.Request) time.Duration {
	p.mu.Lock()
	d, ok := p.planned[req]
	delete(p.planned, req)
	p.mu.Unlock()
	if ok {
		return d
	}
	return p.fallback.When(req)
}

// Forget drops req's plan and its fallback backoff (controller-runtime calls it after a
// reconcile that succeeded).
func (p *retryPlanner) Forget(req reconcile.Request) {
	p.fallback.Forget(req)
	p.mu.Lock()
	delete(p.planned, req)
	p.mu.Unlock()
}

// NumRequeues is the fallback's count of unplanned retries.
func (p *retryPlanner) NumRequeues(req reconcile.Request) int {
	return p.fallback.NumRequeues(req)
}

// plan sets the wait before req's next attempt.
func (p *retryPlanner) plan(req reconcile.Request, wait time.Duration) {
	p.mu.Lock()
	p.planned[req] = wait
	p.mu.Unlock()
}

// planBackoff plans the retry of a transient sign-in failure (see retryDelay) and counts it.
func (p *retryPlanner) planBackoff(req reconcile.Request, retryAfter, remaining time.Duration, uid string) {
	p.mu.Lock()
	n := p.attempts[req]
	p.attempts[req] = n + 1
	p.planned[req] = retryDelay(n, retryAfter, remaining, jitterFor(uid+"/"+strconv.Itoa(n)))
	p.mu.Unlock()
}

// reset ends a run of transient failures: the next one starts the backoff afresh.
func (p *retryPlanner) reset(req reconcile.Request) {
	p.mu.Lock()
	delete(p.attempts, req)
	p.mu.Unlock()
}

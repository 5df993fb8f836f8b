package server

import (
	"log/slog"

	"github.com/vaultd/vaultd/admission"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/secrets"
)

// admissionFromConfig builds the node's CPU pool and request limiter from
// the cpu_pool and request_limiter stanzas (both on by default). One pool
// and one limiter serve every listener of the node.
func admissionFromConfig(cfg *config.Config, log *slog.Logger) (secrets.CPUGate, *admission.Limiter) {
	var gate secrets.CPUGate
	pc := admission.PoolConfig{}
	if cp := cfg.CPUPool; cp != nil {
		pc = admission.PoolConfig{Size: cp.Size, Queue: cp.Queue, MaxWait: cp.MaxWait}
	}
	if cfg.CPUPool == nil || !cfg.CPUPool.Disable {
		p := admission.NewPool(pc)
		st := p.Stats()
		log.Info("CPU pool for bcrypt/RSA work", "size", st.Size, "queue", st.Queue, "max_wait", st.MaxWait)
		gate = p
	} else {
		log.Warn("cpu_pool is disabled: CPU-heavy requests are not bounded and can starve raft under load")
	}
	var lim *admission.Limiter
	if rl := cfg.RequestLimiter; rl == nil || !rl.Disable {
		lc := admission.LimiterConfig{}
		if rl != nil {
			lc.MinLimit, lc.MaxLimit = rl.MinLimit, rl.MaxLimit
		}
		lim = admission.NewLimiter(lc)
	} else {
		log.Warn("request_limiter is disabled")
	}
	return gate, lim
}

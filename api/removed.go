package api

import "net/http"

// errRemovedMsg is what a node removed from the raft cluster answers.
const errRemovedMsg = "this node was removed from the raft cluster and no longer serves; wipe its data directory to add it again as a new node"

// removedFromCluster asks the core (when it knows about raft membership)
// whether this node was removed from its cluster. Such a node has sealed
// itself; sys/health answers removedcode (530) and every request that is
// not node-local is refused with 503, never forwarded.
func (s *Server) removedFromCluster() bool {
	rc, ok := s.core.(interface{ RemovedFromCluster() bool })
	return ok && rc.RemovedFromCluster()
}

// refuseRemoved wraps the logical handler (outside forwarding).
func (s *Server) refuseRemoved(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.removedFromCluster() {
			writeJSON(w, r, http.StatusServiceUnavailable, map[string]any{"errors": []string{errRemovedMsg}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

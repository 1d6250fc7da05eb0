//go:build tools

// kwok (sigs.k8s.io/kwok, pinned in go.mod): simulated nodes and Pods for the
// lab's clusters. A module of its own, since kwok pins k8s.io modules of other
// versions than the control plane's.
package kwok

import _ "sigs.k8s.io/kwok/cmd/kwok"

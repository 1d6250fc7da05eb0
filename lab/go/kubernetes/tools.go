//go:build tools

// The lab's Kubernetes control plane, built from k8s.io/kubernetes as a Go
// module: go.mod pins it and each staging module it replaces locally
// (k8s.io/api, k8s.io/apiserver, ...) at the matching v0.X.Y. Nothing of
// upstream's source is kept here; scripts/lab-binaries builds the commands.
package kubernetes

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)

// etcd for the lab's control plane, from its published Go module
// (go.etcd.io/etcd/server/v3, pinned in go.mod): the same entry point as
// upstream's etcd binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

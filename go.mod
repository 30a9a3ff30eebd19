module github.com/animed/animed

go 1.26.0

require (
	github.com/fsnotify/fsnotify v1.9.0
	github.com/google/flatbuffers v25.12.19+incompatible
	github.com/spf13/pflag v1.0.10
	golang.org/x/image v0.48.0
	golang.org/x/sys v0.50.0
	google.golang.org/protobuf v1.36.12
)

require github.com/coreos/go-systemd/v22 v22.6.0

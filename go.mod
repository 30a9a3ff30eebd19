module github.com/animed/animed

go 1.26.0

require (
	github.com/coreos/go-systemd/v22 v22.6.0 // indirect
	github.com/fsnotify/fsnotify v1.9.0 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/spf13/pflag v1.0.10 // indirect
	golang.org/x/image v0.48.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

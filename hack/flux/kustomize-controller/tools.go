//go:build tools

// Package tools pins the Flux kustomize-controller command we build from the module cache.
package tools

import _ "github.com/fluxcd/kustomize-controller"

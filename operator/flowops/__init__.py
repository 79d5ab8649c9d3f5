"""flowops: versions, promotes and protects flow documents on Kubernetes."""

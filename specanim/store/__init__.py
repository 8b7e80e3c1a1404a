"""What specanim keeps on disk: the trajectory cache, the resume work folder, outputs placed
atomically, and the manifests that describe them."""

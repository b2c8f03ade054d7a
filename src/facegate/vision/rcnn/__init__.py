"""A trainable two-stage face detector in the Faster R-CNN design, built on torchvision.

``config`` (the typed parameters, with the seed's values) and ``annotations`` (dataset
readers) need no torch; ``model`` needs the optional extra ``facegate[rcnn]``. Importing
this package imports neither torch nor torchvision.
"""

"""Technique detectors: the interface (:mod:`.base`) and the shipped ONNX model (:mod:`.onnx`)."""

from .base import Detector, SpanPrediction, load_detector

__all__ = ["Detector", "SpanPrediction", "load_detector"]

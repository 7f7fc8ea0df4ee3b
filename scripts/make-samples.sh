#!/usr/bin/env bash
# Rebuilds the bundled samples in public/samples/ from the shared fixtures (../shared/fixtures beside the repo).
# SampleNet.mlpackage.zip: the synthetic iOS16 mlprogram (10 fp16 weights), zipped with the folder at the root.
# CIFAR10.onnx: a small real ONNX model (MIT, microsoft/Windows-Machine-Learning).
set -euo pipefail
cd "$(dirname "$0")/.."
FIX="${SHRINKRAY_FIXTURES:-$(pwd)/../shared/fixtures}"
OUT="$(pwd)/public/samples"
mkdir -p "$OUT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cp -r "$FIX/synthetic/base_ios16.mlpackage" "$TMP/SampleNet.mlpackage"
chmod -R u+w "$TMP"
rm -f "$OUT/SampleNet.mlpackage.zip"
(cd "$TMP" && TZ=UTC touch -d 2024-01-01T00:00:00 $(find SampleNet.mlpackage) && zip -r -X -q "$OUT/SampleNet.mlpackage.zip" SampleNet.mlpackage)
cp "$FIX/real/onnx/CIFAR10_ImageClassifier.onnx" "$OUT/CIFAR10.onnx"
chmod u+w "$OUT/CIFAR10.onnx"
ls -l "$OUT"

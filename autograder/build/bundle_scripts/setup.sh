#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: it installs what
# grading with our engine needs and nothing else (otter's own setup.sh also installs a browser
# for webpdf, LaTeX and pandoc; the engine writes no PDF). Written into each bundle by
# autograder/build/pipeline.py in place of otter's.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# wget fetches miniforge; bubblewrap gives every sandbox its private mount view
apt-get update
apt-get install -y --no-install-recommends wget ca-certificates bubblewrap
apt-get clean

# Python 3.11 from miniforge (otter 7's version of it; Gradescope's images are x86_64)
wget -nv https://github.com/conda-forge/miniforge/releases/download/25.3.1-0/Miniforge3-Linux-x86_64.sh \
    -O /autograder/source/mamba_install.sh
bash /autograder/source/mamba_install.sh -b
echo "export PATH=/root/miniforge3/bin:\$PATH" >> /root/.bashrc
export PATH=/root/miniforge3/bin:$PATH

# the environment otter-env: python, pip, and the bundle's pinned pip requirements
# (environment.yml; torch's CPU build from torch's CPU index, so no CUDA package)
mamba env create -f /autograder/source/environment.yml
mamba shell init --shell bash

# byte-compile the bundle once, in the image: otherwise every container compiles the engine and
# the checks again when it starts (the sandbox's side sees them read-only and keeps no .pyc)
/root/miniforge3/envs/otter-env/bin/python -m compileall -q /autograder/source/files

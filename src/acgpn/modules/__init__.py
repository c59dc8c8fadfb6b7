"""The paper's three modules as functions of tensors and nets (Figure 2).

* :mod:`acgpn.modules.sgm` — step I, semantic generation (G1 body layout, G2 warped-cloth mask);
* :mod:`acgpn.modules.cwm` — step II, clothes warping (STN + TPS, refinement with alpha, eq. 6);
* :mod:`acgpn.modules.cfm` — steps III and IV, content fusion (composition eqs. 7-9, inpainting G).
"""

"""Pure, differentiable, device- and dtype-agnostic tensor operations (TPS, morphology, masks)."""

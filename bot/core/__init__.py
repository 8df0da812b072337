"""The pure core: the dialog model, conditions, the engine, rendering and the proofs. No I/O."""

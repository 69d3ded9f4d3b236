"""archscale's bring-your-own-model example: `examples_pkg.nets.resnet`, a ResNet-style CNN that
archscale traces with torch.fx (`model: {family: torch, factory: "examples_pkg.nets:resnet"}`).
It registers nothing: archscale imports the factory named in the study."""

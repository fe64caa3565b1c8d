//! 2×2 max pooling (stride 2, NCHW, f32) with a correct gradient.
//!
//! candle 0.11's own `max_pool2d` backward multiplies the upstream gradient by the
//! share of maxima in each window instead of dividing by their count, so a unique
//! maximum receives a quarter of its gradient (our finite-difference test caught it).
//! This op routes each window's gradient to its first maximum, as PyTorch does.

use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// The f32 values of a contiguous storage, or an error naming `op`.
fn contiguous_f32<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let (start, end) = match l.contiguous_offsets() {
        Some(o) => o,
        None => bail!("{op}: input is not contiguous"),
    };
    match s {
        CpuStorage::F32(v) => Ok(&v[start..end]),
        _ => bail!("{op}: only f32 is supported"),
    }
}

fn dims4(l: &Layout, op: &str) -> Result<(usize, usize, usize, usize)> {
    match *l.dims() {
        [b, c, h, w] if h % 2 == 0 && w % 2 == 0 => Ok((b, c, h, w)),
        ref d => bail!("{op}: expected [b, c, h, w] with even h and w, got {d:?}"),
    }
}

/// The offset (within a plane of width `w`) of the first maximum of the window whose
/// top-left corner is at (2i, 2j).
#[inline]
fn argmax2x2(plane: &[f32], w: usize, i: usize, j: usize) -> usize {
    let top = 2 * i * w + 2 * j;
    let mut best = top;
    for o in [top + 1, top + w, top + w + 1] {
        if plane[o] > plane[best] {
            best = o;
        }
    }
    best
}

/// `max_pool2d(2)` on NCHW f32 tensors with even height and width.
pub(super) struct MaxPool2;

impl CustomOp1 for MaxPool2 {
    fn name(&self) -> &'static str {
        "max-pool-2x2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s, l, self.name())?;
        let (b, c, h, w) = dims4(l, self.name())?;
        let (ho, wo) = (h / 2, w / 2);
        let mut out = vec![0f32; b * c * ho * wo];
        out.par_chunks_mut(ho * wo)
            .zip(x.par_chunks(h * w))
            .for_each(|(o, plane)| {
                for i in 0..ho {
                    for j in 0..wo {
                        o[i * wo + j] = plane[argmax2x2(plane, w, i, j)];
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((b, c, ho, wo))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let arg = arg.contiguous()?;
        let grad = grad_res.contiguous()?;
        Ok(Some(arg.apply_op2_no_bwd(&grad, &MaxPool2Grad)?))
    }
}

/// The gradient of [`MaxPool2`]: (input, output gradient) → input gradient.
struct MaxPool2Grad;

impl CustomOp2 for MaxPool2Grad {
    fn name(&self) -> &'static str {
        "max-pool-2x2-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s1, l1, self.name())?;
        let g = contiguous_f32(s2, l2, self.name())?;
        let (b, c, h, w) = dims4(l1, self.name())?;
        let (ho, wo) = (h / 2, w / 2);
        if l2.dims() != [b, c, ho, wo] {
            bail!(
                "{}: gradient of shape {:?} for an input of {:?}",
                self.name(),
                l2.dims(),
                l1.dims()
            );
        }
        let mut out = vec![0f32; b * c * h * w];
        out.par_chunks_mut(h * w)
            .zip(x.par_chunks(h * w).zip(g.par_chunks(ho * wo)))
            .for_each(|(o, (plane, gp))| {
                for i in 0..ho {
                    for j in 0..wo {
                        o[argmax2x2(plane, w, i, j)] += gp[i * wo + j];
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

# Gaussian moments of a projection z = w.x ~ N(0, |x|^2), w ~ N(0, I), and Stein's lemma
# E[w f(w.x)] = x E[f'(w.x)].
import sympy as sp
import torch
from verify import Claim, Vector


def _n(x):
    return sp.sqrt((x.T * x)[0])


def _z(x, n, generator):
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    return w, w @ x


# E[relu(z)] = |x| / sqrt(2 pi)
def cf_relu(x):
    return _n(x) / sp.sqrt(2 * sp.pi)


def cf_relu_slip(x):                       # slip: 3.1 for pi (0.8% off)
    return _n(x) / sp.sqrt(2 * sp.Float(3.1))


def mc_relu(x, n, generator):
    return torch.relu(_z(x, n, generator)[1])


# E[|z|] = sqrt(2/pi) |x|
def cf_abs(x):
    return sp.sqrt(2 / sp.pi) * _n(x)


def cf_abs_slip(x):                        # slip: sqrt(1/pi)
    return sp.sqrt(1 / sp.pi) * _n(x)


def mc_abs(x, n, generator):
    return _z(x, n, generator)[1].abs()


# E[z^4] = 3 |x|^4
def cf_fourth(x):
    return 3 * _n(x) ** 4


def cf_fourth_slip(x):                     # slip: 3.03 (1% off)
    return sp.Float(3.03) * _n(x) ** 4


def mc_fourth(x, n, generator):
    return _z(x, n, generator)[1] ** 4


# E[exp(z)] = exp(|x|^2 / 2)   (|x| <= 1 keeps the log-normal variance modest)
def cf_mgf(x):
    return sp.exp((x.T * x)[0] / 2)


def cf_mgf_slip(x):                        # slip: exp(|x|^2)
    return sp.exp((x.T * x)[0])


def mc_mgf(x, n, generator):
    return torch.exp(_z(x, n, generator)[1])


# E[log|z|] = log|x| - (EulerGamma + log 2) / 2
def cf_logabs(x):
    return sp.log(_n(x)) - (sp.EulerGamma + sp.log(2)) / 2


def cf_logabs_slip(x):                     # slip: sign of log 2 flipped
    return sp.log(_n(x)) - (sp.EulerGamma - sp.log(2)) / 2


def mc_logabs(x, n, generator):
    return torch.log(_z(x, n, generator)[1].abs())


# Stein: E[w relu(w.x)] = x P[z > 0] = x / 2 ;  E[w (w.x)^3] = 3 |x|^2 x
def cf_stein_relu(x):
    return x / 2


def cf_stein_relu_slip(x):                 # slip: x / sqrt(2 pi) (confused with E[relu])
    return x / sp.sqrt(2 * sp.pi)


def mc_stein_relu(x, n, generator):
    w, z = _z(x, n, generator)
    return w * torch.relu(z)[:, None]


def cf_stein_cubic(x):
    return 3 * (x.T * x)[0] * x


def mc_stein_cubic(x, n, generator):
    w, z = _z(x, n, generator)
    return w * (z**3)[:, None]


P = {"x": Vector(3)}
PS = {"x": Vector(3, norm=(0.1, 1.0))}
REF = "standard Gaussian identities; Stein (1981) Lemma 1"

RELU_MEAN = Claim(name="relu-mean", params=P, closed_form=cf_relu, monte_carlo=mc_relu, reference=REF)
RELU_MEAN_SLIP = Claim(name="relu-mean-slip-pi-3p1", params=P, closed_form=cf_relu_slip, monte_carlo=mc_relu,
                       reference=REF, expected="refuted")
ABS_MEAN = Claim(name="abs-mean", params=P, closed_form=cf_abs, monte_carlo=mc_abs, reference=REF)
ABS_MEAN_SLIP = Claim(name="abs-mean-slip", params=P, closed_form=cf_abs_slip, monte_carlo=mc_abs,
                      reference=REF, expected="refuted")
FOURTH = Claim(name="fourth-moment", params=P, closed_form=cf_fourth, monte_carlo=mc_fourth, reference=REF)
FOURTH_SLIP = Claim(name="fourth-moment-slip-1pct", params=P, closed_form=cf_fourth_slip, monte_carlo=mc_fourth,
                    reference=REF, expected="refuted")
MGF = Claim(name="gaussian-mgf", params=PS, closed_form=cf_mgf, monte_carlo=mc_mgf, reference=REF)
MGF_SLIP = Claim(name="gaussian-mgf-slip", params=PS, closed_form=cf_mgf_slip, monte_carlo=mc_mgf,
                 reference=REF, expected="refuted")
LOGABS = Claim(name="log-abs-mean", params=P, closed_form=cf_logabs, monte_carlo=mc_logabs, reference=REF)
LOGABS_SLIP = Claim(name="log-abs-mean-slip", params=P, closed_form=cf_logabs_slip, monte_carlo=mc_logabs,
                    reference=REF, expected="refuted")
STEIN_RELU = Claim(name="stein-relu", params=P, closed_form=cf_stein_relu, monte_carlo=mc_stein_relu, reference=REF)
STEIN_RELU_SLIP = Claim(name="stein-relu-slip", params=P, closed_form=cf_stein_relu_slip,
                        monte_carlo=mc_stein_relu, reference=REF, expected="refuted")
STEIN_CUBIC = Claim(name="stein-cubic", params=P, closed_form=cf_stein_cubic, monte_carlo=mc_stein_cubic,
                    reference=REF)

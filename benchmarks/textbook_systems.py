"""The catalogue of the *textbook* benchmark set (data only; ``benchmarks/textbook.py`` writes and checks it).

Each entry is a model from a textbook of nonlinear dynamics or of mathematical biology, chemistry or ecology that
is neither in the zoo (``eqdisco systems``) nor in ``benchmarks/unseen``. Equations are written with named
parameters (``template``) in the variable names the literature uses; :meth:`Textbook.equations` puts the numbers
in. ``dynamics`` says what the trajectories should show: ``"cycle"`` (a limit cycle, a running phase or sustained
oscillations: the second half of the window is as lively as the first) or ``"transient"`` (relaxation to a steady
state: the transient is the information, and the held-out start ends in the same state).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("rational", "saturating", "exponential", "logarithmic", "polynomial", "trigonometric", "power")
"""What the right-hand sides are made of; the first four are the non-polynomial laws the set is about."""

NON_POLYNOMIAL = ("rational", "saturating", "exponential", "logarithmic")


@dataclass(frozen=True)
class Textbook:
    """One system: its law, its parameters, two initial states and the sampling that shows its dynamics."""

    name: str
    title: str
    variables: tuple[str, ...]
    template: tuple[str, ...]  # right-hand side of d v/dt per variable, in the parameter names
    params: dict[str, float]
    x0: tuple[float, ...]  # the fitting trajectory starts here
    held_x0: tuple[float, ...]  # the held-out trajectory starts here
    t_end: float
    dt: float
    kind: str
    dynamics: str  # "cycle" or "transient"
    source: str
    description: str

    def equations(self) -> dict[str, str]:
        """Right-hand sides with the parameter values written in, keyed by variable (text ``grammar.parse`` reads)."""
        names = sorted(self.params, key=len, reverse=True)
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None

        def fill(text: str) -> str:
            return pattern.sub(lambda m: _number(self.params[m.group(1)]), text) if pattern else text

        return {v: fill(e) for v, e in zip(self.variables, self.template)}


def _number(value: float) -> str:
    value = float(value)
    text = str(int(value)) if value.is_integer() else repr(value)
    return f"({text})" if value < 0 else text


def _t(name: str, title: str, variables: str, template: list[str], params: dict[str, float], x0: list[float],
       held_x0: list[float], t_end: float, dt: float, kind: str, dynamics: str, source: str,
       description: str) -> Textbook:
    return Textbook(name, title, tuple(variables.split()), tuple(template), params, tuple(x0), tuple(held_x0),
                    t_end, dt, kind, dynamics, source, description)


TEXTBOOK: list[Textbook] = [
    # --- enzymes, pathways and gene circuits -----------------------------------------------------------------
    _t("enzyme_product", "Michaelis-Menten substrate depletion with product turnover", "s p",
       ["-Vmax*s/(Km + s)", "Vmax*s/(Km + s) - d*p"], {"Vmax": 1.0, "Km": 0.5, "d": 0.2},
       [5.0, 0.0], [3.0, 2.0], 30.0, 0.1, "saturating", "transient",
       "Keener & Sneyd, Mathematical Physiology (2nd ed.), Ch. 1 (enzyme kinetics, Michaelis-Menten); "
       "Murray, Mathematical Biology I, Sec. 6.1",
       "quasi-steady-state enzyme kinetics: substrate s consumed at the saturating rate Vmax*s/(Km + s), the "
       "product p made at that rate and degraded"),
    _t("substrate_inhibition", "Enzyme with substrate inhibition under constant supply", "s",
       ["J - d*s - V*s/(K + s + s**2/Ki)"], {"J": 0.6, "d": 0.05, "V": 2.0, "K": 1.0, "Ki": 2.0},
       [0.0], [2.5], 15.0, 0.05, "rational", "transient",
       "Keener & Sneyd, Mathematical Physiology (2nd ed.), Ch. 1 (enzyme kinetics: substrate inhibition)",
       "substrate supplied at rate J, washed out, and consumed by an enzyme that excess substrate inhibits"),
    _t("pathway", "Three-step Michaelis-Menten pathway", "s i p",
       ["v0 - V1*s/(K1 + s)", "V1*s/(K1 + s) - V2*i/(K2 + i)", "V2*i/(K2 + i) - d*p"],
       {"v0": 0.5, "V1": 1.0, "K1": 0.5, "V2": 0.8, "K2": 0.3, "d": 0.25},
       [2.0, 0.0, 0.0], [0.1, 2.0, 4.0], 30.0, 0.1, "saturating", "transient",
       "Keener & Sneyd, Mathematical Physiology (2nd ed.), Ch. 1 (enzyme kinetics), chained",
       "a substrate s supplied at rate v0, turned into an intermediate i and then a product p by two saturating "
       "enzymes; p is degraded"),
    _t("toggle_switch", "Genetic toggle switch (Gardner, Cantor & Collins)", "u v",
       ["a1/(1 + v**n) - u", "a2/(1 + u**m) - v"], {"a1": 4.0, "a2": 4.0, "n": 2, "m": 3},
       [2.0, 0.5], [0.5, 0.3], 10.0, 0.02, "saturating", "transient",
       "Gardner, Cantor & Collins, Nature 403 (2000), their Eq. 1",
       "two mutually repressing genes with Hill repression (n = 2, m = 3): bistable, both starts in the u-high "
       "state's basin"),
    _t("repressilator", "Repressilator (protein-only)", "lacI tetR cI",
       ["a/(1 + cI**n) - lacI", "a/(1 + lacI**n) - tetR", "a/(1 + tetR**n) - cI"], {"a": 10.0, "n": 3},
       [1.0, 2.0, 3.0], [4.0, 1.0, 0.5], 40.0, 0.05, "saturating", "cycle",
       "Elowitz & Leibler, Nature 403 (2000), protein-only reduction (mRNA at quasi-steady state)",
       "three genes in a ring of Hill repression (n = 3): a limit cycle"),
    _t("goodwin", "Goodwin oscillator with saturating degradation (Gonze et al.)", "m p r",
       ["v1*K1**n/(K1**n + r**n) - v2*m/(K2 + m)", "k3*m - v4*p/(K4 + p)", "k5*p - v6*r/(K6 + r)"],
       {"v1": 0.7, "K1": 1.0, "n": 4, "v2": 0.35, "K2": 1.0, "k3": 0.7, "v4": 0.35, "K4": 1.0, "k5": 0.7,
        "v6": 0.35, "K6": 1.0},
       [0.1, 0.2, 2.5], [0.5, 1.0, 1.0], 150.0, 0.25, "saturating", "cycle",
       "Goodwin (1965); Gonze, Bernard, Waltermann, Kramer & Herzel, Biophys. J. 89 (2005); Keener & Sneyd, "
       "Mathematical Physiology (2nd ed.), Ch. 10 (regulation of cell function: circadian clocks)",
       "mRNA m, protein p and nuclear repressor r in a negative feedback loop with Hill repression (n = 4) and "
       "Michaelis-Menten degradation: a limit cycle"),
    _t("griffith", "Griffith's genetic control system", "x y",
       ["-a*x + y", "x**2/(1 + x**2) - b*y"], {"a": 1.0, "b": 0.4},
       [3.0, 1.0], [1.0, 2.5], 30.0, 0.05, "saturating", "transient",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Sec. 8.1 (example: a genetic control system, "
       "Griffith 1971)",
       "protein x activates its own gene through mRNA y with a Hill function (n = 2): bistable, both starts in "
       "the 'on' basin"),
    _t("calcium", "Calcium oscillations, two-pool model (Goldbeter, Dupont & Berridge)", "Z Y",
       ["v0 + v1b - VM2*Z**2/(K2**2 + Z**2) + VM3*Y**2/(KR**2 + Y**2)*Z**4/(KA**4 + Z**4) + kf*Y - k*Z",
        "VM2*Z**2/(K2**2 + Z**2) - VM3*Y**2/(KR**2 + Y**2)*Z**4/(KA**4 + Z**4) - kf*Y"],
       {"v0": 1.0, "v1b": 2.9, "VM2": 65.0, "K2": 1.0, "VM3": 500.0, "KR": 2.0, "KA": 0.9, "kf": 1.0,
        "k": 10.0},
       [0.1, 1.5], [0.5, 0.5], 4.0, 0.005, "saturating", "cycle",
       "Goldbeter, Dupont & Berridge, PNAS 87 (1990); Keener & Sneyd, Mathematical Physiology (2nd ed.), "
       "Ch. 7 (calcium dynamics)",
       "cytosolic calcium Z and stored calcium Y: uptake by a Hill-2 pump, calcium-induced release with Hill "
       "terms of order 2 and 4: spiking oscillations"),
    _t("glycolysis", "Goldbeter-Lefever allosteric glycolysis model", "alpha g",
       ["nu - sigma*alpha*(1 + alpha)*(1 + g)**2/(L + (1 + alpha)**2*(1 + g)**2)",
        "q*sigma*alpha*(1 + alpha)*(1 + g)**2/(L + (1 + alpha)**2*(1 + g)**2) - ks*g"],
       {"nu": 0.3, "sigma": 10.0, "L": 1000000.0, "q": 1.0, "ks": 0.06},
       [20.0, 1.0], [10.0, 20.0], 600.0, 1.0, "rational", "cycle",
       "Goldbeter & Lefever, Biophys. J. 12 (1972); Keener & Sneyd, Mathematical Physiology (2nd ed.), "
       "Ch. 1 (glycolysis and glycolytic oscillations)",
       "substrate alpha and product g of an allosteric enzyme activated by its product (concerted MWC rate law; "
       "parameters chosen in the oscillatory range): glycolytic oscillations"),
    _t("mitotic_oscillator", "Goldbeter's minimal mitotic oscillator", "C M X",
       ["vi - vd*X*C/(Kd + C) - kd*C", "VM1*C/(Kc + C)*(1 - M)/(K1 + 1 - M) - V2*M/(K2 + M)",
        "VM3*M*(1 - X)/(K3 + 1 - X) - V4*X/(K4 + X)"],
       {"vi": 0.025, "vd": 0.25, "Kd": 0.02, "kd": 0.01, "VM1": 3.0, "Kc": 0.5, "K1": 0.01, "V2": 1.5,
        "K2": 0.01, "VM3": 1.0, "K3": 0.01, "V4": 0.5, "K4": 0.01},
       [0.01, 0.01, 0.01], [0.3, 0.5, 0.2], 100.0, 0.125, "saturating", "cycle",
       "Goldbeter, PNAS 88 (1991); Keener & Sneyd, Mathematical Physiology (2nd ed.), Ch. 10 (the cell cycle)",
       "cyclin C, active cdc2 kinase fraction M and active cyclin protease fraction X with zero-order "
       "(Michaelis-Menten) switches: a limit cycle"),
    # --- chemistry ---------------------------------------------------------------------------------------------
    _t("lengyel_epstein", "Lengyel-Epstein model of the CIMA reaction", "x y",
       ["a - x - 4*x*y/(1 + x**2)", "b*x*(1 - y/(1 + x**2))"], {"a": 10.0, "b": 2.0},
       [1.0, 3.0], [3.0, 8.0], 20.0, 0.025, "rational", "cycle",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Sec. 8.3 (oscillating chemical reactions); "
       "Lengyel & Epstein, Science 251 (1991)",
       "iodide x and chlorite y of the chlorine dioxide-iodine-malonic acid reaction: a limit cycle for "
       "b < 3a/5 - 25/a"),
    _t("oregonator", "Two-variable Oregonator (Tyson)", "x z",
       ["(x*(1 - x) - f*z*(x - q)/(x + q))/eps", "x - z"], {"f": 1.0, "q": 0.002, "eps": 0.1},
       [0.2, 0.1], [0.05, 0.3], 20.0, 0.025, "rational", "cycle",
       "Murray, Mathematical Biology I (3rd ed.), Ch. 8 (Belousov-Zhabotinskii reaction, Oregonator); "
       "Tyson & Fife, J. Chem. Phys. 73 (1980)",
       "HBrO2 x and oxidized catalyst z of the Belousov-Zhabotinskii reaction, bromide eliminated: relaxation "
       "oscillations"),
    _t("cstr", "Exothermic reaction in a stirred tank (Arrhenius)", "X T",
       ["-X + Da*(1 - X)*exp(T/(1 + T/g))", "-T + B*Da*(1 - X)*exp(T/(1 + T/g)) - beta*T"],
       {"Da": 0.11, "B": 11.0, "beta": 1.2, "g": 20.0},
       [0.1, 0.5], [0.5, 2.0], 40.0, 0.05, "exponential", "cycle",
       "Uppal, Ray & Poore, Chem. Eng. Sci. 29 (1974); Aris, Elementary Chemical Reactor Analysis (1969)",
       "conversion X and dimensionless temperature T of a first-order exothermic reaction with an Arrhenius rate "
       "exp(T/(1 + T/g)) and a cooled jacket"),
    _t("lindemann", "Lindemann mechanism of unimolecular reactions", "a b",
       ["-k1*a**2 + km1*a*b", "k1*a**2 - km1*a*b - k2*b"], {"k1": 0.5, "km1": 0.5, "k2": 0.3},
       [2.0, 0.0], [1.0, 1.0], 30.0, 0.05, "polynomial", "transient",
       "Lindemann (1922); Atkins' Physical Chemistry, unimolecular reactions (Lindemann-Hinshelwood mechanism)",
       "reactant a is activated by collisions to b, which is deactivated by collisions or reacts"),
    _t("schnakenberg", "Schnakenberg's trimolecular reaction", "u v",
       ["a - u + u**2*v", "b - u**2*v"], {"a": 0.1, "b": 0.5},
       [0.5, 1.0], [1.5, 0.5], 40.0, 0.05, "polynomial", "cycle",
       "Schnakenberg, J. Theor. Biol. 81 (1979); Murray, Mathematical Biology II (3rd ed.), Ch. 2 "
       "(reaction kinetics for Turing patterns)",
       "the simplest two-species reaction with a limit cycle"),
    # --- ecology ------------------------------------------------------------------------------------------------
    _t("bazykin", "Bazykin's predator-prey model", "x y",
       ["x - x*y/(1 + a*x) - e*x**2", "-g*y + x*y/(1 + a*x) - d*y**2"],
       {"a": 0.3, "e": 0.1, "g": 1.0, "d": 0.05},
       [1.0, 1.0], [3.0, 0.5], 60.0, 0.1, "rational", "cycle",
       "Bazykin, Nonlinear Dynamics of Interacting Populations (1998); Kuznetsov, Elements of Applied "
       "Bifurcation Theory, Ch. 8 (Bazykin's predator-prey system)",
       "prey x with weak self-limitation, Holling II predation, predators y that compete among themselves"),
    _t("holling_iii", "Predator-prey with a Holling type III response", "x y",
       ["x*(1 - x/K) - a*x**2*y/(1 + b*x**2)", "c*a*x**2*y/(1 + b*x**2) - d*y"],
       {"K": 5.0, "a": 1.0, "b": 0.5, "c": 0.5, "d": 0.6},
       [1.0, 1.0], [3.0, 0.5], 60.0, 0.1, "saturating", "transient",
       "Murray, Mathematical Biology I (3rd ed.), Sec. 3.4 (realistic predator-prey models); Holling (1959)",
       "logistic prey, sigmoid (type III) predation"),
    _t("may", "May's (Leslie-Gower) predator-prey model", "N P",
       ["N*(1 - N) - a*N*P/(N + d)", "b*P*(1 - P/N)"], {"a": 1.5, "d": 0.2, "b": 0.1},
       [0.5, 0.3], [0.2, 0.5], 100.0, 0.2, "rational", "cycle",
       "Murray, Mathematical Biology I (3rd ed.), Sec. 3.4-3.5 (realistic models and their limit cycles); "
       "May (1973)",
       "logistic prey N, saturating predation, predators P with a prey-dependent carrying capacity "
       "(Leslie-Gower term P/N): a limit cycle"),
    _t("ivlev", "Ivlev predator-prey model", "x y",
       ["r*x*(1 - x/K) - a*y*(1 - exp(-c*x))", "e*y*(1 - exp(-c*x)) - d*y"],
       {"r": 1.0, "K": 3.0, "a": 1.0, "c": 1.5, "e": 0.8, "d": 0.3},
       [1.0, 1.0], [2.5, 0.5], 60.0, 0.1, "exponential", "cycle",
       "Ivlev, Experimental Ecology of the Feeding of Fishes (1961); May, Stability and Complexity in Model "
       "Ecosystems (1973)",
       "logistic prey x, predators y with Ivlev's exponential functional response 1 - exp(-c*x)"),
    _t("beddington_deangelis", "Beddington-DeAngelis predator-prey model", "x y",
       ["x*(1 - x/K) - a*x*y/(1 + b*x + c*y)", "e*a*x*y/(1 + b*x + c*y) - d*y"],
       {"K": 4.0, "a": 2.0, "b": 0.5, "c": 0.2, "e": 0.6, "d": 0.4},
       [1.0, 1.0], [3.0, 0.5], 60.0, 0.1, "rational", "cycle",
       "Beddington, J. Anim. Ecol. 44 (1975); DeAngelis, Goldstein & O'Neill, Ecology 56 (1975)",
       "logistic prey, predation that saturates with prey and with predator interference"),
    _t("gompertz_predator", "Predation on Gompertz-growing prey", "x y",
       ["r*x*log(K/x) - a*x*y", "e*x*y - d*y"], {"r": 0.5, "K": 5.0, "a": 1.0, "e": 0.5, "d": 1.0},
       [1.0, 1.0], [4.0, 0.2], 40.0, 0.1, "logarithmic", "transient",
       "Gompertz growth (Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Exercise 2.3.3) with "
       "Lotka-Volterra predation (Murray, Mathematical Biology I, Sec. 3.1)",
       "prey x growing by the Gompertz law, predators y eating it by mass action: damped oscillations"),
    _t("chemostat", "Monod chemostat (Edelstein-Keshet)", "N C",
       ["a1*C/(1 + C)*N - N", "-C/(1 + C)*N - C + a2"], {"a1": 2.0, "a2": 3.0},
       [0.5, 1.0], [2.0, 0.2], 20.0, 0.05, "saturating", "transient",
       "Edelstein-Keshet, Mathematical Models in Biology, Ch. 4 (the chemostat); Monod (1950)",
       "bacteria N growing on nutrient C with Monod kinetics in a continuously diluted vessel (dimensionless)"),
    _t("budworm", "Spruce budworm outbreak (Ludwig, Jones & Holling)", "x",
       ["r*x*(1 - x/k) - x**2/(1 + x**2)"], {"r": 0.6, "k": 10.0},
       [0.5], [1.5], 60.0, 0.1, "saturating", "transient",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Sec. 3.7 (insect outbreak); Murray, Mathematical "
       "Biology I, Sec. 1.2",
       "logistic budworm growth and Holling III predation by birds: a slow passage past the vanished refuge "
       "state, then an outbreak"),
    _t("harvesting", "Logistic fishery with saturating harvest", "N",
       ["r*N*(1 - N/K) - H*N/(A + N)"], {"r": 1.0, "K": 10.0, "H": 2.0, "A": 1.0},
       [2.0], [12.0], 15.0, 0.05, "rational", "transient",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Exercise 3.7.3 (a fishery)",
       "fish N grow logistically and are caught at a rate that saturates with their density; both starts above "
       "the extinction threshold"),
    _t("gompertz", "Gompertz law of tumor growth", "N",
       ["-a*N*log(b*N)"], {"a": 0.3, "b": 0.1},
       [0.5], [20.0], 25.0, 0.05, "logarithmic", "transient",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Exercise 2.3.3 (tumor growth)",
       "tumor size N relaxes to 1/b with a per-capita rate falling like -log(b*N)"),
    _t("richards", "Richards (theta-logistic) growth", "N",
       ["r*N*(1 - (N/K)**nu)"], {"r": 0.8, "K": 10.0, "nu": 0.5},
       [0.3], [15.0], 20.0, 0.05, "power", "transient",
       "Richards, J. Exp. Bot. 10 (1959); Gilpin & Ayala, PNAS 70 (1973) (theta-logistic)",
       "generalized logistic growth with a non-integer shape exponent nu = 0.5"),
    _t("ricker", "Continuous-time Ricker recruitment", "N",
       ["b*N*exp(-N/K) - d*N"], {"b": 2.0, "K": 1.0, "d": 0.5},
       [0.05], [4.0], 15.0, 0.05, "exponential", "transient",
       "Ricker, J. Fish. Res. Board Can. 11 (1954); Murray, Mathematical Biology I, Ch. 2 (Ricker's law), as an "
       "ODE",
       "births b*N*exp(-N/K) that fall off with crowding, deaths d*N"),
    _t("allee", "Logistic growth with a strong Allee effect", "N",
       ["r*N*(N/A - 1)*(1 - N/K)"], {"r": 0.05, "A": 1.0, "K": 10.0},
       [2.0], [15.0], 30.0, 0.05, "polynomial", "transient",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Sec. 2.3 exercises (Allee effect)",
       "a population that declines below the threshold A and grows to K above it; both starts above A"),
    _t("competition", "Lotka-Volterra competition: rabbits versus sheep", "x y",
       ["x*(3 - x - 2*y)", "y*(2 - x - y)"], {},
       [2.5, 0.5], [0.5, 0.2], 12.0, 0.02, "polynomial", "transient",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Sec. 6.4 (rabbits versus sheep)",
       "two species competing for grass: bistable, both starts end with rabbits x only"),
    _t("tumor_immune", "Tumor-immune interaction (Kuznetsov et al.)", "E T",
       ["s + p*E*T/(g + T) - m*E*T - d*E", "a*T*(1 - b*T) - E*T"],
       {"s": 0.1181, "p": 1.131, "g": 20.19, "m": 0.00311, "d": 0.3743, "a": 1.636, "b": 0.002},
       [1.0, 50.0], [2.0, 200.0], 100.0, 0.2, "saturating", "transient",
       "Kuznetsov, Makalkin, Taylor & Perelson, Bull. Math. Biol. 56 (1994), dimensionless model",
       "effector cells E recruited with Michaelis-Menten kinetics by tumor cells T, which grow logistically: "
       "damped oscillations to a dormant tumor"),
    # --- epidemics ----------------------------------------------------------------------------------------------
    _t("sir_saturating", "SIR with saturating incidence (Capasso-Serio)", "S I R",
       ["mu - beta*S*I/(1 + alpha*I) - mu*S", "beta*S*I/(1 + alpha*I) - (gamma + mu)*I", "gamma*I - mu*R"],
       {"mu": 0.02, "beta": 3.0, "alpha": 2.0, "gamma": 0.5},
       [0.99, 0.01, 0.0], [0.6, 0.1, 0.3], 150.0, 0.2, "rational", "transient",
       "Capasso & Serio, Math. Biosci. 42 (1978); Murray, Mathematical Biology I (3rd ed.), Ch. 10 (epidemic "
       "models)",
       "an endemic infection with births and deaths mu and incidence beta*S*I/(1 + alpha*I) that saturates with "
       "the number of infected"),
    _t("sis_standard", "SIS with standard incidence and disease deaths", "S I",
       ["Lambda - d*S - beta*S*I/(S + I) + gamma*I", "beta*S*I/(S + I) - (d + alpha + gamma)*I"],
       {"Lambda": 1.0, "d": 0.1, "beta": 1.0, "gamma": 0.2, "alpha": 0.3},
       [9.0, 1.0], [2.0, 5.0], 60.0, 0.15, "rational", "transient",
       "Anderson & May, Nature 280 (1979); Brauer & Castillo-Chavez, Mathematical Models in Population Biology "
       "and Epidemiology (2nd ed.), SIS models with demography",
       "susceptibles S (recruited at rate Lambda) and infected I with frequency-dependent incidence "
       "beta*S*I/(S + I), recovery without immunity and disease deaths"),
    _t("seir", "SEIR with births and deaths", "S E I R",
       ["mu - beta*S*I - mu*S", "beta*S*I - (sigma + mu)*E", "sigma*E - (gamma + mu)*I", "gamma*I - mu*R"],
       {"mu": 0.02, "beta": 2.0, "sigma": 0.5, "gamma": 0.4},
       [0.95, 0.03, 0.02, 0.0], [0.5, 0.05, 0.05, 0.4], 200.0, 0.25, "polynomial", "transient",
       "Keeling & Rohani, Modeling Infectious Diseases in Humans and Animals (2008), Ch. 2 (SEIR); Anderson & "
       "May, Infectious Diseases of Humans (1991)",
       "a latent class E between infection and infectiousness; damped epidemic waves to the endemic state"),
    # --- mechanics and physics ------------------------------------------------------------------------------
    _t("josephson", "Josephson junction (underdamped, driven by a constant current)", "phi v",
       ["v", "(I0 - v - sin(phi))/beta"], {"I0": 1.2, "beta": 2.0},
       [0.0, 0.0], [1.0, 1.5], 40.0, 0.05, "trigonometric", "cycle",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Sec. 4.6 and 8.5 (Josephson junctions)",
       "phase phi across the junction and its rate v: above the critical current the phase runs"),
    _t("nonuniform_oscillator", "Nonuniform oscillator (overdamped pendulum with torque)", "theta",
       ["w - a*sin(theta)"], {"w": 1.0, "a": 0.9},
       [0.0], [2.0], 40.0, 0.05, "trigonometric", "cycle",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Sec. 4.3-4.4 (nonuniform oscillator, overdamped "
       "pendulum)",
       "a phase that slows in a bottleneck near theta = pi/2 each turn"),
    _t("glider", "Glider with drag", "v theta",
       ["-sin(theta) - D*v**2", "(v**2 - cos(theta))/v"], {"D": 0.2},
       [1.5, 0.3], [0.8, -0.3], 30.0, 0.05, "trigonometric", "transient",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Ch. 6 exercises (the glider)",
       "speed v and flight angle theta of a glider: phugoid oscillations damped by drag D"),
    _t("rayleigh", "Rayleigh oscillator", "x y",
       ["y", "-x + mu*(y - y**3/3)"], {"mu": 1.0},
       [0.1, 0.0], [2.5, -1.0], 40.0, 0.05, "polynomial", "cycle",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Ch. 7 exercises (Rayleigh's equation); Rayleigh (1883)",
       "a self-sustained oscillation with damping nonlinear in the velocity: a limit cycle"),
    _t("double_well", "Damped particle in a double-well potential", "x v",
       ["v", "x - x**3 - d*v"], {"d": 0.15},
       [1.0, 1.2], [1.5, -0.5], 40.0, 0.05, "polynomial", "transient",
       "Strogatz, Nonlinear Dynamics and Chaos (2nd ed.), Sec. 6.5 (example: particle in a double-well "
       "potential), with linear damping; the unforced Duffing oscillator",
       "damped motion in the potential -x**2/2 + x**4/4: both starts cross the barrier and settle in the "
       "left-hand well"),
]

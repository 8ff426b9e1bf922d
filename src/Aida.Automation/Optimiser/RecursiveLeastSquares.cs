namespace Aida.Automation.Optimiser;

/// <summary>Recursive least squares with exponential forgetting: an affine model <c>y = θ·φ</c> refined one sample at a
/// time, starting from a prior (θ0 with covariance <c>P0 = σ² I</c>).</summary>
/// <remarks>Ljung, <i>System Identification</i> (2nd ed., 1999), §11.2, eq. 11.16. Forgetting factor λ weights a sample
/// k steps old by λ^k, so the model tracks a plant that drifts (fouling, seasons). Covariance is reset to the prior's
/// scale if it grows past it (covariance wind-up when the data do not excite every direction, Åström and Wittenmark,
/// <i>Adaptive Control</i>, §11.5), so a long steady spell never makes the next sample swing the estimate.
/// Non-finite samples are ignored.</remarks>
internal sealed class RecursiveLeastSquares
{
    private readonly double[] _theta;
    private readonly double[,] _p;
    private readonly double _lambda;
    private readonly double _priorVariance;
    private readonly double[] _pphi;

    public RecursiveLeastSquares(double[] prior, double priorVariance, double forgetting)
    {
        _theta = (double[])prior.Clone();
        _lambda = forgetting;
        _priorVariance = priorVariance;
        _p = new double[prior.Length, prior.Length];
        _pphi = new double[prior.Length];
        for (var i = 0; i < prior.Length; i++)
        {
            _p[i, i] = priorVariance;
        }
    }

    public IReadOnlyList<double> Parameters => _theta;

    /// <summary>Samples taken into the estimate.</summary>
    public int Samples { get; private set; }

    public double Predict(ReadOnlySpan<double> phi)
    {
        var y = 0.0;
        for (var i = 0; i < _theta.Length; i++)
        {
            y += _theta[i] * phi[i];
        }

        return y;
    }

    public void Update(ReadOnlySpan<double> phi, double y)
    {
        if (!double.IsFinite(y))
        {
            return;
        }

        var n = _theta.Length;
        for (var i = 0; i < n; i++)
        {
            if (!double.IsFinite(phi[i]))
            {
                return;
            }
        }

        var denominator = _lambda;
        for (var i = 0; i < n; i++)
        {
            var s = 0.0;
            for (var j = 0; j < n; j++)
            {
                s += _p[i, j] * phi[j];
            }

            _pphi[i] = s;
            denominator += phi[i] * s;
        }

        var error = y - Predict(phi);
        var trace = 0.0;
        for (var i = 0; i < n; i++)
        {
            _theta[i] += _pphi[i] / denominator * error;
        }

        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                _p[i, j] = (_p[i, j] - (_pphi[i] * _pphi[j] / denominator)) / _lambda;
            }

            trace += _p[i, i];
        }

        if (!(trace <= n * _priorVariance))
        {
            Array.Clear(_p);
            for (var i = 0; i < n; i++)
            {
                _p[i, i] = _priorVariance;
            }
        }

        Samples++;
    }
}

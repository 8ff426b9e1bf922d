namespace Aida.Twin.Physics;

/// <summary>Normally distributed draws from a seeded <see cref="Random"/>, so noise is reproducible from the scenario seed.</summary>
internal static class GaussianNoise
{
    /// <summary>A standard normal draw (Box-Muller, one of the pair).</summary>
    public static double NextGaussian(this Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}

namespace Aida.Twin.Plant;

/// <summary>Growth of the arrays that hold per-point and per-actuator state while the plant is being built.</summary>
internal static class ArrayCapacity
{
    /// <summary>Grows by doubling, so registering n entries copies O(n) elements, not O(n^2).</summary>
    public static void Grow<T>(ref T[] array, int needed)
    {
        if (needed > array.Length)
        {
            Array.Resize(ref array, Math.Max(needed, Math.Max(16, array.Length * 2)));
        }
    }
}

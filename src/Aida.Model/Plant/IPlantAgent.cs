namespace Aida.Model.Plant;

/// <summary>Whoever operates a plant from outside it (Aida's agents): called at a fixed interval of plant time, it reads
/// and writes the plant only through the <see cref="IPlant"/> it was given.</summary>
public interface IPlantAgent
{
    void Tick(DateTimeOffset now);
}

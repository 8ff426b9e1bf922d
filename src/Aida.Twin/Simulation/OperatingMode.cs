namespace Aida.Twin.Simulation;

/// <summary>Who runs the plant: the two older ways of operating, or Aida's agents.</summary>
public enum OperatingMode
{
    Human,
    Digital,
    Agent,
}

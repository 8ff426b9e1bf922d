namespace Aida.Twin.Physics;

/// <summary>Pump and fan affinity laws for a fixed impeller: flow ~ speed, head ~ speed^2, power ~ speed^3
/// (ASHRAE HVAC Systems and Equipment 2020, ch. 44 "Centrifugal Pumps" and ch. 21 "Fans").</summary>
internal static class AffinityLaws
{
    public static double Flow(double designFlow, double speed) => designFlow * speed;

    public static double Power(double designPower, double speed) => designPower * speed * speed * speed;
}

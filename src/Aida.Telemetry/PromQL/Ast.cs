using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>The four value types of PromQL, as the type checker sees them.</summary>
internal enum PromType
{
    Scalar,
    Vector,
    Matrix,
    String,
}

internal abstract class Expr(int pos)
{
    /// <summary>0-based position of the expression's first character in the query.</summary>
    public int Pos { get; } = pos;

    public abstract PromType Type { get; }

    /// <summary>The expressions <paramref name="e"/> is made of, in the order they are written.</summary>
    public static IEnumerable<Expr> Children(Expr e)
    {
        IEnumerable<Expr?> children = e switch
        {
            MatrixSelector m => [m.Selector],
            ParenExpr p => [p.Inner],
            NegateExpr n => [n.Inner],
            SubqueryExpr q => [q.Inner],
            CallExpr c => c.Args.Cast<Expr?>(),
            AggregateExpr a => [a.Inner, a.Param],
            BinaryExpr b => [b.Lhs, b.Rhs],
            _ => [],
        };
        return children.OfType<Expr>();
    }

    public static string Describe(PromType t) => t switch
    {
        PromType.Scalar => "scalar",
        PromType.Vector => "instant vector",
        PromType.Matrix => "range vector",
        _ => "string",
    };
}

internal sealed class NumberLiteral(int pos, double value) : Expr(pos)
{
    public double Value { get; } = value;

    public override PromType Type => PromType.Scalar;
}

internal sealed class StringLiteral(int pos, string value) : Expr(pos)
{
    public string Value { get; } = value;

    public override PromType Type => PromType.String;
}

internal sealed class ParenExpr(int pos, Expr inner) : Expr(pos)
{
    public Expr Inner { get; } = inner;

    public override PromType Type => Inner.Type;
}

/// <summary>Unary minus (unary plus is dropped by the parser, as it changes nothing).</summary>
internal sealed class NegateExpr(int pos, Expr inner) : Expr(pos)
{
    public Expr Inner { get; } = inner;

    public override PromType Type => Inner.Type;
}

/// <summary>The <c>@</c> modifier: a fixed time in milliseconds, or the query's start or end.</summary>
internal readonly record struct AtModifier(long? TimeMs, bool Start, bool End)
{
    public bool IsSet => TimeMs is not null || Start || End;

    public long Resolve(long ts, long queryStart, long queryEnd) => TimeMs ?? (Start ? queryStart : End ? queryEnd : ts);
}

internal sealed class VectorSelector(int pos, string? name, IReadOnlyList<LabelMatcher> matchers) : Expr(pos)
{
    public AtModifier At { get; set; }

    public string? Name { get; } = name;

    public IReadOnlyList<LabelMatcher> Matchers { get; } = matchers;

    public long OffsetMs { get; set; }

    public bool OffsetSet { get; set; }

    public override PromType Type => PromType.Vector;
}

internal sealed class MatrixSelector(int pos, VectorSelector selector, long rangeMs) : Expr(pos)
{
    public VectorSelector Selector { get; } = selector;

    public long RangeMs { get; } = rangeMs;

    public override PromType Type => PromType.Matrix;
}

internal sealed class SubqueryExpr(int pos, Expr inner, long rangeMs, long stepMs) : Expr(pos)
{
    public Expr Inner { get; } = inner;

    public long RangeMs { get; } = rangeMs;

    /// <summary>Zero when the query left it out: the engine's default subquery step then applies.</summary>
    public long StepMs { get; } = stepMs;

    public AtModifier At { get; set; }

    public long OffsetMs { get; set; }

    public bool OffsetSet { get; set; }

    public override PromType Type => PromType.Matrix;
}

internal sealed class CallExpr(int pos, FunctionDef func, IReadOnlyList<Expr> args) : Expr(pos)
{
    public FunctionDef Func { get; } = func;

    public IReadOnlyList<Expr> Args { get; } = args;

    public override PromType Type => Func.ReturnType;
}

internal sealed class AggregateExpr(int pos, TokenKind op, Expr inner, Expr? param, IReadOnlyList<string> grouping, bool without) : Expr(pos)
{
    public TokenKind Op { get; } = op;

    public Expr Inner { get; } = inner;

    public Expr? Param { get; } = param;

    public IReadOnlyList<string> Grouping { get; } = grouping;

    public bool Without { get; } = without;

    public override PromType Type => PromType.Vector;
}

internal enum Cardinality
{
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

/// <summary>How the two sides of a vector/vector operation pair up: on/ignoring labels and group_left/right.</summary>
internal sealed class VectorMatching
{
    public Cardinality Card { get; set; }

    public bool On { get; set; }

    public List<string> MatchingLabels { get; } = [];

    public List<string> Include { get; } = [];
}

internal sealed class BinaryExpr(int pos, int opPos, TokenKind op, Expr lhs, Expr rhs, bool returnBool, VectorMatching matching) : Expr(pos)
{
    public int OpPos { get; } = opPos;

    public TokenKind Op { get; } = op;

    public Expr Lhs { get; } = lhs;

    public Expr Rhs { get; } = rhs;

    public bool ReturnBool { get; } = returnBool;

    public VectorMatching Matching { get; } = matching;

    public override PromType Type => Lhs.Type == PromType.Scalar && Rhs.Type == PromType.Scalar ? PromType.Scalar : PromType.Vector;

    public static bool IsComparison(TokenKind op) => op is TokenKind.Eql or TokenKind.Neq or TokenKind.Gtr or TokenKind.Lss or TokenKind.Gte or TokenKind.Lte;

    public static bool IsSetOperator(TokenKind op) => op is TokenKind.And or TokenKind.Or or TokenKind.Unless;
}

namespace LiveNews.Server.Bus;

/// <summary>
/// The one rule for ids that appear in topic names, routes and keys (articles, entries, alerts, accounts):
/// 1-128 lowercase letters, digits and dashes. Nothing that needs escaping in a key, a URL or a Redis pattern.
/// </summary>
internal static class Slug
{
    public const int MaxLength = 128;

    public static bool IsValid(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}

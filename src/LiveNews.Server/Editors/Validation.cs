namespace LiveNews.Server.Editors;

/// <summary>Collects field errors for an RFC 9457 validation problem; names fields as the JSON does.</summary>
internal sealed class Validation
{
    public const int MaxUrlLength = 2048;

    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public IDictionary<string, string[]> Errors => _errors;

    public void Add(string field, string message) =>
        _errors[field] = _errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];

    /// <summary>Required text: no control characters (but line breaks and tabs when multiline), trimmed length 1..max.</summary>
    public string Text(string field, string? value, int maxLength, bool multiline = false)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, $"'{field}' is required.");
            return "";
        }

        return OptionalText(field, value, maxLength, multiline) ?? "";
    }

    public string? OptionalText(string field, string? value, int maxLength, bool multiline = false)
    {
        if (value is null)
        {
            return null;
        }

        value = value.Trim();
        if (value.Length > maxLength)
        {
            Add(field, $"'{field}' must be at most {maxLength} characters.");
        }

        foreach (var c in value)
        {
            if (char.IsControl(c) && !(multiline && c is '\n' or '\r' or '\t'))
            {
                Add(field, $"'{field}' must not contain control characters.");
                break;
            }
        }

        return value.Length == 0 ? null : value;
    }

    public string Url(string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, $"'{field}' is required.");
            return "";
        }

        return OptionalUrl(field, value) ?? "";
    }

    /// <summary>Absolute http or https only: a <c>javascript:</c> link must never reach a reader's page.</summary>
    public string? OptionalUrl(string field, string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length > MaxUrlLength)
        {
            Add(field, $"'{field}' must be at most {MaxUrlLength} characters.");
            return null;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || value.Any(char.IsControl))
        {
            Add(field, $"'{field}' must be an absolute http or https URL.");
            return null;
        }

        return uri.AbsoluteUri;
    }

    public void Id(string field, string value)
    {
        if (!Bus.Topic.IsValidArticleId(value))
        {
            Add(field, $"'{field}' must be 1-{Bus.Topic.MaxArticleIdLength} lowercase letters, digits or dashes.");
        }
    }
}

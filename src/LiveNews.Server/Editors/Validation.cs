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

    /// <summary>
    /// Required text: no control characters (but line breaks and tabs when multiline), nothing that is not a
    /// character, trimmed length 1..max.
    /// </summary>
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

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c) && !(multiline && c is '\n' or '\r' or '\t'))
            {
                Add(field, $"'{field}' must not contain control characters.");
                break;
            }

            if (!IsText(value, ref i))
            {
                Add(field, $"'{field}' must be text: U+FFFE, U+FFFF and unpaired surrogates are not characters.");
                break;
            }
        }

        return value.Length == 0 ? null : value;
    }

    // What XML 1.0 (the Atom feeds) and every client can carry beyond the control characters: no noncharacter
    // U+FFFE/U+FFFF, and surrogates only in pairs (a pair moves i past its second half).
    private static bool IsText(string value, ref int i)
    {
        var c = value[i];
        if (c is '\uFFFE' or '\uFFFF')
        {
            return false;
        }

        if (!char.IsSurrogate(c))
        {
            return true;
        }

        if (char.IsSurrogatePair(value, i))
        {
            i++;
            return true;
        }

        return false;
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

    /// <summary>
    /// A URL as <see cref="OptionalUrl"/> returns it, at most <see cref="MaxUrlLength"/> characters once percent-encoded:
    /// for URLs that travel in messages of a fixed size (a Web Push message holds 4 KB).
    /// </summary>
    public string? EncodedUrl(string field, string? value)
    {
        var url = OptionalUrl(field, value);
        if (url is not null && url.Length > MaxUrlLength)
        {
            Add(field, $"'{field}' must be at most {MaxUrlLength} characters once percent-encoded: it is {url.Length}.");
            return null;
        }

        return url;
    }

    /// <summary>
    /// Absolute http or https only: a <c>javascript:</c> link must never reach a reader's page. What is returned (and
    /// stored) is percent-encoded, up to nine characters for one outside ASCII: <see cref="EncodedUrl"/> bounds that.
    /// </summary>
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

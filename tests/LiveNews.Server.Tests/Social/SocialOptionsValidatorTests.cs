using LiveNews.Server.Social;
using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Social;

/// <summary>A bad Social setting stops the server at start, naming the setting.</summary>
public sealed class SocialOptionsValidatorTests
{
    [Theory]
    [InlineData("BreakerSamplingDuration", "00:00:00.100")]
    [InlineData("AttemptTimeout", "00:00:00.001")]
    [InlineData("BreakerBreakDuration", "2.00:00:00")]
    [InlineData("MaxRetries", "11")]
    [InlineData("PostsPerMinute", "0")]
    [InlineData("SettleAfterUnknown", "00:31:00")]
    public void Validate_ResilienceOutOfPollyRange_NamesTheSetting(string field, string value)
    {
        var account = new SocialAccountOptions { Name = "main", Network = "mastodon", BaseUrl = "https://mastodon.example", AccessToken = "t" };
        typeof(ShareResilienceOptions).GetProperty(field)!.SetValue(account.Resilience, field is "MaxRetries" or "PostsPerMinute" ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture));

        var result = new SocialOptionsValidator().Validate(null, new SocialOptions { Accounts = [account] });

        Assert.True(result.Failed);
        Assert.Contains($"Social:Accounts:0:Resilience:{field}", result.FailureMessage);
    }

    [Theory]
    [InlineData("00:00:02", "00:02:00")]
    [InlineData("00:05:01", "00:02:00")]
    [InlineData("00:01:30", "00:00:10")] // its token request (60 s) would outlast the HTTP client (10 s + 30 s)
    public void Validate_TokenRefreshTimeoutOutOfRange_NamesTheSetting(string timeout, string lease)
    {
        var options = new SocialOptions
        {
            TokenRefreshTimeout = TimeSpan.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture),
            LeaseDuration = TimeSpan.Parse(lease, System.Globalization.CultureInfo.InvariantCulture),
        };

        var result = new SocialOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Social:TokenRefreshTimeout", result.FailureMessage);
    }

    [Fact]
    public void Validate_XWithRefreshTokenButNoClientId_NamesTheSetting()
    {
        var account = new SocialAccountOptions { Name = "x", Network = "x", RefreshToken = "r" };

        var result = new SocialOptionsValidator().Validate(null, new SocialOptions { Accounts = [account] });

        Assert.Contains("Social:Accounts:0:ClientId", result.FailureMessage);
    }

    [Fact]
    public void Start_BadBreakerSamplingDuration_StopsTheServerNamingTheSetting()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Social:Accounts:0:Name"] = "main",
            ["Social:Accounts:0:Network"] = "mastodon",
            ["Social:Accounts:0:BaseUrl"] = "https://mastodon.example",
            ["Social:Accounts:0:AccessToken"] = "token",
            ["Social:Accounts:0:Resilience:BreakerSamplingDuration"] = "00:00:00.100",
        };

        var error = Assert.ThrowsAny<Exception>(() => new LiveNewsNode("", Eventually.Prefix(), settings));

        Assert.Contains("Social:Accounts:0:Resilience:BreakerSamplingDuration", error.ToString());
    }
}

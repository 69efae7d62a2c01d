Feature: Callbacks
  When a transaction ends (accepted, denied or expired), the server POSTs
  {"callback_uri", "transaction_id"} to the transaction's callback_uri, and retries a failed
  delivery callback_retries times with backoff. In these scenarios the portal's callback receiver
  answers as the scenario says and counts every delivery attempt where it arrives, never from the
  server's event log.

  The contract fixes how many attempts come and that retries back off, not which clock the backoff
  reads: a server may wait real time or its own clock. So "the callback deliveries run their
  course" moves the server's clock on (where the target offers the test-control clock) and listens
  at the receiver for the next attempt, round after round, until none comes within a bound: either
  reading then shows every attempt it makes.

  Background:
    Given "Alice" has enrolled the device "phone"

  @server-wide
  Scenario Outline: When a transaction ends, the server posts its id to the callback_uri as JSON: <end>
    Given the portal's callback receiver answers every callback with 204
    And the portal has started a QR-code OTP with the callback path "/callback?order=42"
    When <end>
    Then the portal's receiver gets a POST of Content-Type application/json with the body {"callback_uri", "transaction_id"} for the transaction

    @CB-001 @must
    Examples:
      | end                             |
      | "phone" accepts the portal's OTP |
      | "phone" denies the portal's OTP  |
      | the portal's OTP expires         |

  # "tablet" is a device of the harness's own also when a device driver plays "phone": the refused
  # answer is one of the scenario's making.
  @CB-002 @must @server-wide
  Scenario: No callback while a transaction is pending or after a refused answer, and one series of attempts when it ends
    Given "Bob" has enrolled the device "tablet"
    And the portal's callback receiver answers 500, then 204
    And the portal has started a QR-code OTP
    When "tablet" scans the QR code and handles the OTP
    And "tablet" answers "accept" signed with another key
    Then the request is refused with status 403, error 10019 INVALID_SIGNATURE
    When the callback deliveries run their course
    Then the portal's receiver gets 0 delivery attempts for the transaction
    When "tablet" answers "accept" signed with its current key
    Then the answer is "accepted"
    When the callback deliveries run their course
    Then the portal's receiver gets 2 delivery attempts for the transaction

  # Whether the server answers the device before it delivers the callback or after is its choice,
  # so the portal reads the transaction while the device's answer may still be on its way (which
  # takes a device of the harness's own, "tablet", also when a device driver plays "phone").
  @CB-003 @must @server-wide
  Scenario: The callback goes out once the transaction has ended, so a read on its receipt gives the final status
    Given "Bob" has enrolled the device "tablet"
    And the portal's callback receiver holds every callback until it is let go
    And the portal has started a QR-code OTP
    When "tablet" scans the QR code and handles the OTP
    And "tablet" accepts while the portal's receiver holds the callback and reads the transaction on its receipt
    Then the answer is "accepted"
    When the callback deliveries run their course
    Then the portal's receiver gets 1 delivery attempt for the transaction

  # How soon after the expiry a server looks the contract does not say: the receiver waits a
  # generous bound of real time, making no request meanwhile.
  @CB-004 @must @server-wide
  Scenario: The expiry callback comes without any further request once the server's clock passes the time to live
    Given the portal's callback receiver answers every callback with 204
    And the portal has started a QR-code OTP
    When the server's clock moves past the OTP's expiry
    Then the portal's receiver gets a POST of Content-Type application/json with the body {"callback_uri", "transaction_id"} for the transaction
    And the transaction is expired

  # A 3xx may count as a success or a failure (a server may follow the redirect or not), and what
  # a broken connection counts as the contract does not say, so neither is sent here.
  @server-wide
  Scenario Outline: A delivery attempt succeeds on a 2xx status and fails on a status outside 2xx and 3xx: the receiver <first>
    Given the server's callback_retries is 1
    And the portal's callback receiver <first>, then answers 204
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    And the callback deliveries run their course
    Then the portal's receiver gets <attempts> delivery attempts for the transaction
    And the transaction is accepted for "Alice"

    @CB-005 @must
    Examples: a 2xx status is a success
      | first        | attempts |
      | answers 200  | 1        |
      | answers 202  | 1        |
      | answers 299  | 1        |

    @CB-005 @must
    Examples: a status outside 2xx and 3xx is a failure
      | first        | attempts |
      | answers 400  | 2        |
      | answers 404  | 2        |
      | answers 500  | 2        |
      | answers 503  | 2        |

  @server-wide
  Scenario Outline: A failed delivery is tried 1 + callback_retries times: <retries>
    Given the server's callback_retries is <retries>
    And the portal's callback receiver answers 500 to every callback
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    And the callback deliveries run their course
    Then the portal's receiver gets <attempts> delivery attempts for the transaction
    And the transaction is accepted for "Alice"

    @CB-006 @must
    Examples:
      | retries     | attempts |
      | 0           | 1        |
      | 1           | 2        |
      | its default | 4        |

  # The k-th retry comes no sooner than 200 + 400 + ... + 200·2^(k−1) ms after the first attempt
  # started, on the server's clock or in real time. While the harness does not move the server's
  # clock, that clock passes no faster than real time, so the receiver checks the bound in real
  # time; a server whose backoff waits for its own clock sends no retry until the clock moves.
  @CB-007 @must @server-wide
  Scenario: Retries back off with waits that double from 200 ms
    Given the server's callback_retries is 3
    And the portal's callback receiver answers 500 to every callback
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    Then while the server's clock is not moved, no retry reaches the portal's receiver sooner than the backoff allows
    When the callback deliveries run their course
    Then the portal's receiver gets 4 delivery attempts for the transaction

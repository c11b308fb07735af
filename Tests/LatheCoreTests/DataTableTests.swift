import Foundation
import LatheCore
import Testing
